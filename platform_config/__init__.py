"""Typed platform config: load, validate, explain errors. No cdktf imports."""

from platform_config.loader import ConfigError, load_config, parse_config
from platform_config.model import AppConfig, PlatformConfig

__all__ = ["AppConfig", "ConfigError", "PlatformConfig", "load_config", "parse_config"]
