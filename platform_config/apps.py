"""`apps`: the built-in apps plus extra chart apps keyed by name.

Each app's section lives in its service package (cdktf-free config modules):
platform_services/chart_app/config.py (AppConfig, any chart),
platform_services/jupyterhub/config.py and platform_services/mlflow/config.py.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ConfigDict, model_validator

from platform_config.base import StrictModel, field_error, key_path
from platform_config.reserved import RESERVED_APP_KEYS
from platform_services.chart_app.config import AppConfig
from platform_services.jupyterhub.config import JupyterHubConfig
from platform_services.mlflow.config import MlflowConfig, MlflowDatabaseConfig

__all__ = [
    "APP_KEY_PATTERN",
    "MAX_APPS",
    "AppConfig",
    "AppsConfig",
    "JupyterHubConfig",
    "MlflowConfig",
    "MlflowDatabaseConfig",
]

#: Apps listed in the config, enabled or not.
MAX_APPS = 50
APP_KEY_PATTERN = r"^(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)$"


class AppsConfig(StrictModel):
    """Built-in apps plus extra chart apps keyed by name (at most 50 in all)."""

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        use_attribute_docstrings=True,
        json_schema_extra={
            "propertyNames": {"pattern": APP_KEY_PATTERN},
            "maxProperties": MAX_APPS,
        },
    )
    __pydantic_extra__: dict[str, AppConfig]

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        # Before validating each app (which reads its values file): a bound.
        if isinstance(data, dict) and len(data) > MAX_APPS:
            raise ValueError(f"{len(data)} apps: at most {MAX_APPS} (enabled or not)")
        return data

    jupyterhub: JupyterHubConfig = JupyterHubConfig(enabled=True)
    """JupyterHub at jupyterhub.<domain>."""
    mlflow: MlflowConfig = MlflowConfig(enabled=True)
    """MLflow at mlflow.<domain>."""

    @model_validator(mode="after")
    def _extra_names_are_labels(self) -> AppsConfig:
        for name in self.__pydantic_extra__ or {}:
            if not re.fullmatch(APP_KEY_PATTERN, name):
                raise field_error(
                    key_path(name),
                    "an app name must be a lowercase DNS label of at most 40 characters "
                    "(a-z, 0-9, '-'), starting with a letter",
                )
            if name in RESERVED_APP_KEYS:
                raise field_error(
                    name,
                    f"the app name {name!r} is reserved for the platform "
                    f"({', '.join(sorted(RESERVED_APP_KEYS))})",
                )
        return self

    def enabled(self) -> dict[str, AppConfig]:
        """Enabled apps by name, built-ins first, then extras in file order."""
        everything: dict[str, AppConfig] = {"jupyterhub": self.jupyterhub, "mlflow": self.mlflow}
        everything.update(self.__pydantic_extra__ or {})
        return {name: app for name, app in everything.items() if app.enabled}
