"""Reading numeric settings from environment variables, with errors that name the setting."""

from __future__ import annotations

from typing import Any, Mapping


def read_number(environment: Mapping[str, str], name: str, kind: type, default: Any, error: type[Exception] = ValueError) -> Any:
    """Return `kind(environment[name])`, or `default` when the variable is unset or empty; raises `error` when it does not parse."""
    text = environment.get(name)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise error(f"{name} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None
