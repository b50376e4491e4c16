"""Training quantized models (QAT, RandBET, AdvBET) and their checkpoints."""
