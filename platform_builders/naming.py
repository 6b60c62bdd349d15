"""Stable construct ids derived from values (ids become Terraform addresses).

`slug` lives in the config layer, which also rejects entries whose slugs
collide (two members that differ only in punctuation), so every id it makes
for a validated config is unique.
"""

from __future__ import annotations

from platform_config.base import slug

__all__ = ["slug"]
