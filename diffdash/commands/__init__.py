"""Thin click commands: parse, validate, call the library, print."""
