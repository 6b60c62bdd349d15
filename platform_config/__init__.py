"""Typed platform config: load, validate, explain errors. No cdktf imports.

The names below load on first use (PEP 562), so importing one submodule
(`platform_config.types`, `platform_config.paths`) does not load the whole
model: the apps' config sections in platform_services/ import those
submodules, and the model imports the apps' sections.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from platform_config.loader import ConfigError, load_config, parse_config
    from platform_config.model import AppConfig, PlatformConfig

__all__ = ["AppConfig", "ConfigError", "PlatformConfig", "load_config", "parse_config"]

_HOMES = {
    "AppConfig": "platform_config.model",
    "PlatformConfig": "platform_config.model",
    "ConfigError": "platform_config.loader",
    "load_config": "platform_config.loader",
    "parse_config": "platform_config.loader",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
