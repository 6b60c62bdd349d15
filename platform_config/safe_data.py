"""Config data is never code: every string, keys included, is printable ASCII
without Terraform template syntax. The field types already refuse these
characters; this walk also covers keys, unknown keys and any future field, and
says what is wrong plainly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from platform_config import types as t
from platform_config.base import key_path
from platform_config.yaml_reader import shown


def string_problem(value: str) -> str | None:
    char = t.unprintable_in(value)
    if char is not None:
        return (
            f"contains {char!r}: config values are printable ASCII only (no control, "
            "non-ASCII, look-alike or zero-width characters)"
        )
    opener = t.template_syntax_in(value)
    if opener is not None:
        return (
            f"contains {opener!r}, Terraform template syntax: config values are data "
            "and may not contain '${' or '%{'"
        )
    return None


def unsafe_strings(data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, problem) of each string that can never be config data, in file order.

    A key that is not text or not safe is reported, and its value not searched.
    """
    if isinstance(data, str):
        problem = string_problem(data)
        if problem is not None:
            yield path, problem
    elif isinstance(data, dict):
        for key, value in data.items():
            sub = f"{path}.{key_path(str(key))}" if path else key_path(str(key))
            if not isinstance(key, str):
                yield sub, f"the key {shown(key, 80)} is not text"
                continue
            key_problem = string_problem(key)
            if key_problem is not None:
                yield sub, key_problem
                continue
            yield from unsafe_strings(value, sub)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from unsafe_strings(item, f"{path}[{index}]")


def first_unsafe(data: Any) -> tuple[str, str] | None:
    """(field path, problem) of the first string that can never be config data."""
    return next(unsafe_strings(data), None)
