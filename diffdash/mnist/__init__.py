"""The data: what a digit is (`digits`), the idx format, finding and loading MNIST (`load`) and
writing sample grids as PNGs (`grids`). Kept empty, so the lowest modules import `digits` alone."""
