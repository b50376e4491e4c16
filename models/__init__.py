"""Model zoo: Brevitas-quantized networks behind a registry (``create_model(name, **kw)``)."""
