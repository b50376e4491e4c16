"""Models: Brevitas-quantized networks behind one registry (``create_model(name, **kw)``).

Importing the package registers the zoo and GENet; a user's own models register with
``@register_model`` in their own module (named on the command line or in config).
"""

from berth.models import genet, zoo  # noqa: F401  (registration by import)
from berth.models.registry import create_model, list_models, model_for_data, register_model

__all__ = ["create_model", "list_models", "model_for_data", "register_model"]
