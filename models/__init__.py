"""Models: Brevitas-quantized networks behind one registry (``create_model(name, **kw)``).

Importing the package registers the zoo and GENet; a user's own model is named by its import path
(``pkg.module:factory``, ``path/to/file.py:Name``) or registers itself with ``@register_model``
in a module that ``import_modules`` imports (``berth.models.imports``).
"""

from berth.models import genet, zoo  # noqa: F401  (registration by import)
from berth.models.imports import import_modules
from berth.models.registry import create_model, is_model, list_models, model_for_data, register_model

__all__ = ["create_model", "import_modules", "is_model", "list_models", "model_for_data", "register_model"]
