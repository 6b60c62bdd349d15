"""Pieces every config section shares: the strict base model, errors located at
a field, and the list checks several sections use."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from platform_config.yaml_reader import clip, shown

#: Separates the field path from the message in a `field_error` (the loader splits it).
FIELD_MARK = "\x1f"


class StrictModel(BaseModel):
    """Base for every config section: unknown keys rejected, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def field_error(path: str, message: str) -> ValueError:
    """An error raised by a model validator that belongs to one of its fields.

    Pydantic locates model-level errors at the model; the loader moves them to
    ``<model path>.<path>`` so the user sees the exact field.
    """
    return ValueError(f"{FIELD_MARK}{path}{FIELD_MARK}{message}")


def unique(values: list[str]) -> list[str]:
    """AfterValidator: no entry twice."""
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate entries: {clip(', '.join(duplicates))}")
    return values


def slug(value: str) -> str:
    """`group:ml-team@example.com` -> `group-ml-team-example-com`.

    Construct ids of per-member resources, so adding or removing one member
    never renumbers (and so re-creates) the others. Not injective
    (`a.b` and `a-b` give the same slug): the config rejects two entries
    whose slugs collide (`slugs_unique`).
    """
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def slugs_unique(values: list[str]) -> list[str]:
    """AfterValidator: no two entries share a slug (a Terraform address)."""
    seen: dict[str, str] = {}
    for value in values:
        key = slug(value)
        if key in seen and seen[key] != value:
            raise ValueError(
                f"{shown(seen[key])} and {shown(value)} differ only in punctuation; their "
                f"resources would share the Terraform address {key!r}: keep one of them"
            )
        seen[key] = value
    return values


def key_path(key: str) -> str:
    """A mapping key as a field-path part: plain keys as is, others quoted (and cut)."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
        return key
    return f"[{shown(key, 80)}]"


Port = Annotated[int, Field(ge=1, le=65535, description="A TCP port, 1-65535.")]
