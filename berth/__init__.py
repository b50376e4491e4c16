"""berth: a hardware-aware simulation and evaluation harness for quantized neural networks.

berth stores a model's weights as the integer codes an accelerator keeps in SRAM, flips their
bits the way low-voltage memory or an attacker would, and measures what that costs.
"""

__version__ = "0.1.0"
