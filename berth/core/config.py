"""Typed configuration: dataclasses loaded from TOML, with CLI overrides.

Precedence is defaults < config file < ``--set key=value`` flags (timm's order). Every key is
checked against the dataclass: an unknown key or a value of the wrong type is a one-line error
naming the file, the key and what is allowed. Nested dataclasses map to TOML tables and to dotted
override keys (``--set train.epochs=3``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import tomllib
import types
import re
import typing
from pathlib import Path
from typing import Any, TypeVar

from berth.core.errors import BerthError

T = TypeVar("T")


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Check ``value`` against the type ``hint`` (converting int->float, list->tuple)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, where)
            except BerthError as exc:
                errors.append(str(exc))
        raise BerthError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise BerthError(f"{where} = {value!r}; allowed: {', '.join(map(repr, args))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise BerthError(f"{where} = {value!r} must be a list")
        inner = args[0] if args else Any
        items = [_coerce(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise BerthError(f"{where} = {value!r} must be a table")
        return {k: _coerce(args[1] if args else Any, v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise BerthError(f"{where} must be a table of {_type_name(hint)} keys")
        return from_dict(hint, value, where)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is bool or hint is str:
        if isinstance(value, hint):
            return value
    else:
        raise TypeError(f"unsupported config type {hint!r} at {where}")
    raise BerthError(f"{where} = {value!r} must be of type {_type_name(hint)}")


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    for key in data:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            allowed = ", ".join(names) or "none (no settings here)"
            raise BerthError(f"{where + ': ' if where else ''}unknown key {key!r}{hint}; allowed: {allowed}")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """The resolved configuration as plain data (tuples become lists), for saving beside results."""
    def plain(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    return plain(dataclasses.asdict(obj))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and abs(value) != float("inf") else ("nan" if value != value else
                                                                                ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise BerthError(f"cannot write {value!r} ({type(value).__name__}) as TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """``data`` (plain config values, e.g. from ``to_dict``) as a TOML document that ``load_config``
    reads back to the same values; keys whose value is None (unset) are left out. Lists of tables
    become ``[[name]]`` sections (their own nested tables stay inline)."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items()
             if v is not None and not isinstance(v, dict) and not _table_array(v)]
    out = "".join(line + "\n" for line in lines)
    for k, v in data.items():
        name = f"{prefix}{_toml_key(k)}"
        if isinstance(v, dict):
            out += f"\n[{name}]\n" + to_toml(v, name + ".")
        elif _table_array(v):
            for item in v:
                out += f"\n[[{name}]]\n" + "".join(f"{_toml_key(ik)} = {_toml_value(iv)}\n"
                                                     for ik, iv in item.items() if iv is not None)
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b=value`` into (["a","b"], value); value is parsed as TOML, else kept a string."""
    if "=" not in text:
        raise BerthError(f"override {text!r} must look like key=value")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip().split("."), value


def merge(base: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``base[path[0]][path[1]]... = value`` in place, creating tables on the way."""
    node = base
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise BerthError(f"override key {'.'.join(path)!r}: {part!r} is not a table")
    node[path[-1]] = value


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning a missing file or a syntax error into a one-line BerthError."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise BerthError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise BerthError(f"config file {str(path)!r} is not valid TOML: {exc}") from None


def file_error(path: str | Path, exc: BerthError) -> BerthError:
    """``exc``, raised on the values of TOML file ``path``, as ``path:LINE: ...`` pointing at the
    offending key's line (unchanged when the key cannot be found in the file)."""
    text, name = str(exc), str(path)
    for sep in (": ", "."):
        if text.startswith(name + sep):
            rest = text[len(name) + len(sep):]
            break
    else:
        return exc
    keys = _error_keys(rest)
    try:
        line = key_line(Path(path).read_text(encoding="utf-8"), keys) if keys else None
    except (OSError, UnicodeDecodeError):
        line = None
    return BerthError(f"{name}:{line}: {rest}") if line else exc


def _error_keys(message: str) -> list[str]:
    """The key path a config error message is about (``train.epochs = ...``, ``variants[1]:
    unknown key 'x'``, ``unknown key 'x'``), as keys with array-of-table indices kept."""
    match = re.match(r"([A-Za-z_][\w.\[\]-]*)(?:: unknown key '([^']+)'| = | must be)", message)
    if match:
        return match[1].split(".") + ([match[2]] if match[2] else [])
    match = re.match(r"unknown key '([^']+)'", message)
    return [match[1]] if match else []


def key_line(text: str, keys: list[str]) -> int | None:
    """The 1-based line of TOML ``text`` that sets ``keys`` (``a[1]`` = the second ``[[a]]`` table), or
    else of the nearest enclosing key (an inline table holding it) or table header."""
    table: list[str] = []
    counts: dict[str, int] = {}
    best = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[["):
            name = line.strip("[] ")
            counts[name] = counts.get(name, 0) + 1
            table = name.split(".")[:-1] + [f"{name.split('.')[-1]}[{counts[name] - 1}]"]
        elif line.startswith("["):
            table = [k.strip().strip('"') for k in line.split("]")[0].strip("[ ").split(".")]
        else:
            match = re.match(r'("[^"]+"|[\w.-]+)\s*=', line)
            if not match:
                continue
            table_path = table + [k.strip().strip('"') for k in match[1].split(".")]
            if table_path == keys:
                return number
            if table_path == keys[:len(table_path)]:
                best = best or number
            continue
        if table == keys[:len(table)]:
            best = number
    return best


def apply_overrides(cls: type, data: dict[str, Any], overrides: list[str] = ()) -> None:
    """Merge ``key=value`` overrides into ``data`` one by one; a bad one is an error that names the
    ``--set`` flag it came from (the file's own values were checked before)."""
    for text in overrides:
        keys, value = parse_override(text)
        merge(data, keys, value)
        try:
            from_dict(cls, data, "")
        except BerthError as exc:
            raise BerthError(f"--set {text}: {exc}") from None


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] = ()) -> T:
    """Defaults of ``cls`` < TOML file at ``path`` < ``key=value`` overrides."""
    data: dict[str, Any] = read_toml(path) if path else {}
    where = str(path) if path else "config"
    try:
        from_dict(cls, data, where)  # the file's own mistakes name the file and line
    except BerthError as exc:
        raise file_error(path, exc) if path else exc from None
    apply_overrides(cls, data, overrides)
    return from_dict(cls, data, where)


def given_keys(path: str | Path | None = None, overrides: list[str] = ()) -> frozenset[str]:
    """The top-level settings the TOML file at ``path`` or the ``key=value`` overrides set (a
    setting given at its default value is given all the same)."""
    keys = set(read_toml(path)) if path else set()
    return frozenset(keys | {parse_override(text)[0][0] for text in overrides})


def field_docs(cls: type) -> dict[str, str]:
    """The one-line meaning of each field of dataclass ``cls``: the ``# comment`` on its line."""
    import inspect
    import io
    import tokenize

    docs: dict[str, str] = {}
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return docs
    names = {f.name for f in dataclasses.fields(cls)}
    line_name: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string in names:
            line_name.setdefault(tok.start[0], tok.string)
        elif tok.type == tokenize.COMMENT and tok.start[0] in line_name:
            docs[line_name[tok.start[0]]] = tok.string.lstrip("#").strip()
    return docs


def reference(cls: type, prefix: str = "", defaults: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """Every key of config ``cls`` (nested tables as ``table.key``): type, default, allowed values
    and meaning, in declaration order. ``defaults`` are the values a parent config gives a nested
    table (its own defaults otherwise)."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    defaults = to_dict(cls()) if defaults is None else defaults
    rows = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            rows += reference(hint, f"{prefix}{f.name}.", defaults.get(f.name))
            continue
        literal = typing.get_origin(hint) is typing.Literal
        rows.append({"key": prefix + f.name,
                     "type": "str" if literal else (_type_name(hint) if typing.get_origin(hint) is None
                                                    else str(hint).replace("typing.", "")),
                     "default": repr(defaults.get(f.name)),
                     "allowed": ", ".join(map(repr, typing.get_args(hint))) if literal else "",
                     "meaning": docs.get(f.name, "")})
    return rows
