"""Quantization schemes, integer weight codes and bit-error models."""
