"""Model zoo: Brevitas-quantized networks behind a registry (``create_model(name, **kw)``)."""

from berth.models.registry import create_model, list_models

__all__ = ["create_model", "list_models"]
