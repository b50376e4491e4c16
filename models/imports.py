"""The user's own models, named by where they live: ``pkg.module:factory`` or ``path/to/file.py:Name``.

A name with a colon is imported on first use and registered under that name, so ``create_model``
builds it like any zoo model and its model file (which stores the name and the keywords) rebuilds
it in a new process. A module named with ``import_modules`` (a command's ``modules`` setting) may
instead register its models itself with ``@berth.models.register_model``.

The target is either a berth builder (its first parameter is ``spec``, a QuantSpec: the model's
layers take berth's schemes) or a plain factory of a Brevitas model (called with the keywords it
declares; the input shape and class count are passed when it takes them).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any, Callable

from torch import nn

from berth.core.errors import BerthError

SHAPE = ("in_channels", "input_size", "num_classes")


def is_import_path(name: str) -> bool:
    """Whether ``name`` names a model by where it lives (``module:attr`` or ``file.py:attr``)."""
    return isinstance(name, str) and ":" in name


def _module_from_file(path: Path):
    """Import a Python file as a module of its own (named after the file and its path's hash)."""
    if not path.is_file():
        raise BerthError(f"model file {str(path)!r} does not exist; expected path/to/file.py:Name")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"berth_user_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module: say which one failed and why
        del sys.modules[name]
        raise BerthError(f"importing {str(path)!r} failed: {type(exc).__name__}: {str(exc)[:200]}") from None
    return module


def import_module(target: str):
    """A module by dotted name or by ``.py`` path; a one-line BerthError when it cannot be imported."""
    if target.endswith(".py"):
        return _module_from_file(Path(target).expanduser().resolve())
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise BerthError(f"cannot import module {target!r} ({exc}); is it on PYTHONPATH or installed?") from None
    except Exception as exc:
        raise BerthError(f"importing {target!r} failed: {type(exc).__name__}: {str(exc)[:200]}") from None


def import_modules(modules: list[str]) -> None:
    """Import modules that register models with ``@register_model`` (dotted names or .py paths)."""
    for module in modules:
        import_module(module)


def canonical(name: str) -> str:
    """The import path with a file made absolute, so the name means the same from any folder."""
    where, _, attr = name.rpartition(":")
    if where.endswith(".py"):
        return f"{Path(where).expanduser().resolve()}:{attr}"
    return name


def source_file(name: str) -> Path | None:
    """The Python file an import path's module lives in (None for a registered name, or a module
    without a file); what a sweep hashes so that an edited model is a new run."""
    if not is_import_path(name):
        return None
    where = name.rpartition(":")[0]
    if where.endswith(".py"):
        return Path(where).expanduser().resolve()
    try:
        spec = importlib.util.find_spec(where)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None


def load_target(name: str) -> Callable[..., Any]:
    """The callable an import path names."""
    where, _, attr = name.rpartition(":")
    if not where or not attr:
        raise BerthError(f"model {name!r} is not an import path; allowed: pkg.module:factory or path/file.py:Name")
    target = getattr(import_module(where), attr, None)
    if target is None or not callable(target):
        raise BerthError(f"{where!r} has no callable {attr!r}; expected a model class or factory")
    return target


def builder_of(target: Callable[..., Any]) -> Callable[..., nn.Module]:
    """A registry builder for ``target``: itself when it takes a QuantSpec first, else an adapter
    that passes the keywords the factory declares (and the shape keywords it takes) and checks
    that the model has quantized weight layers (a weight memory)."""
    from berth.quant.inject import weight_codes
    params = inspect.signature(target).parameters
    if next(iter(params), None) == "spec":
        return target
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    source = inspect.getsourcefile(target) if inspect.isfunction(target) or inspect.isclass(target) else None
    label = f"{Path(source).name if source else target.__module__}:{getattr(target, '__qualname__', target)}"

    def build(spec, in_channels: int, input_size: int, num_classes: int, **kw: Any) -> nn.Module:
        shape = {"in_channels": in_channels, "input_size": input_size, "num_classes": num_classes}
        passed = {k: v for k, v in shape.items() if k in params or takes_any}
        model = target(**passed, **kw)
        weight_codes(model, label)  # a model without quantized weight layers is refused here, before any work
        return model

    build.__signature__ = inspect.Signature(  # the options create_model accepts for this model
        [inspect.Parameter("spec", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY) for k in SHAPE]
        + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for k, p in params.items()
           if k not in SHAPE and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)])
    build.__qualname__ = f"import:{getattr(target, '__qualname__', target)}"
    return build
