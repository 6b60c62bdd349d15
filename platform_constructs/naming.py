"""Stable construct ids derived from values (ids become Terraform addresses)."""

from __future__ import annotations

import re


def slug(value: str) -> str:
    """`group:ml-team@example.com` -> `group-ml-team-example-com`.

    Used for per-member resources, so adding or removing one member never
    renumbers (and so re-creates) the others.
    """
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
