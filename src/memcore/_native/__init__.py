"""Compiled (Cython) kernels. Import them through :mod:`memcore._kernels`, never directly."""
