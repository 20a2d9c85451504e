"""Plain YAML data → typed dataclasses, collecting every problem with its key path instead of raising
(unknown keys with "did you mean", wrong types)."""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import types
import typing
from typing import Any, Union

from mbert_eval.errors import cut, shown


def _build(cls: type, raw: Any, path: str, problems: list[str]) -> Any:
    """A dataclass instance from a mapping, collecting key-path problems instead of raising."""
    if not isinstance(raw, dict):
        problems.append(f"{path or '(top)'}: expected a mapping, got {type(raw).__name__}")
        return cls()
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")]
    values = {}
    for key, value in raw.items():
        key_path = f"{path}.{key}" if path else str(key)
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
            problems.append(f"{cut(key_path)}: unknown key{hint}")
            continue
        values[key] = _convert(hints[key], value, key_path, problems)
    return cls(**{k: v for k, v in values.items() if v is not _INVALID})


_INVALID = object()


def _convert(hint: Any, value: Any, path: str, problems: list[str]) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        candidates = [a for a in args if a is not type(None)]
        trials: list[list[str]] = []
        for candidate in candidates:
            trials.append([])
            converted = _convert(candidate, value, path, trials[-1])
            if not trials[-1]:
                return converted
        shaped = [trial for candidate, trial in zip(candidates, trials) if _same_shape(candidate, value)]
        if len(shaped) == 1:  # one candidate of the value's shape (a list, a mapping): its own problems say where
            problems.extend(shaped[0])
            return _INVALID
        names = " or ".join(_type_name(a) for a in candidates)
        problems.append(f"{path}: expected {names}, got {shown(value)}")
        return _INVALID
    if dataclasses.is_dataclass(hint):
        if isinstance(value, str) and hasattr(hint, "from_name"):
            return hint.from_name(value)
        return _build(hint, value, path, problems)
    if origin is list:
        if isinstance(value, (str, int, float)):
            value = [value]  # a single value where a list is expected
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {shown(value)}")
            return _INVALID
        items = [_convert(args[0], v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        return [v for v in items if v is not _INVALID]
    if origin is dict:
        if isinstance(value, list) and args[1] is not str:  # `tasks: [pos, xnli]` means default data
            names = [item for item in value if not isinstance(item, str)]
            if names:
                index = value.index(names[0])
                problems.append(f"{path}[{index}]: expected a task name, got {shown(names[0])} (or write a mapping)")
                return _INVALID
            value = {name: {} for name in value}
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping, got {shown(value)}")
            return _INVALID
        empty = {} if dataclasses.is_dataclass(args[1]) else None  # `pos:` is a task of default settings
        return {str(k): _convert(args[1], empty if v is None else v, f"{path}.{k}", problems) for k, v in value.items()}
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:
            return float(value)  # a number quoted: "2e-5"
        except ValueError:
            pass
    if hint is bool and isinstance(value, bool):
        return value
    if hint in (int, str) and isinstance(value, hint) and not isinstance(value, bool):
        return value
    if hint is int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)  # a NumPy integer, from the Python API
    if hint is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # `name: 2024`; a float is refused: `name: 1.10` would become '1.1'
    if hint is str and isinstance(value, float):
        problems.append(
            f"{path}: expected a string, got the number {value!r} (YAML reads unquoted digits as a number: write the "
            "text in quotes)"
        )
        return _INVALID
    problems.append(f"{path}: expected {_type_name(hint)}, got {shown(value)}")
    return _INVALID


def _same_shape(hint: Any, value: Any) -> bool:
    """Whether `value` is the container `hint` asks for (a list for a list, a mapping for a mapping)."""
    origin = typing.get_origin(hint)
    return (origin is list and isinstance(value, list)) or (
        (origin is dict or dataclasses.is_dataclass(hint)) and isinstance(value, dict)
    )


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is dict:
        return "a mapping"
    if origin is list:
        return "a list"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )
