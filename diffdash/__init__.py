"""diffdash: train, watch and compare diffusion models on MNIST from the terminal."""

__version__ = "0.1.0"
