"""Pure-Python twins of the compiled kernels: same names, same signatures, same results."""
