"""Chart apps: any Helm chart from the config's `apps:` section, behind the IAP door.

Pure data in the config (repository, chart, version, values file, Service and
port); each becomes an Argo CD Application in its own mesh-locked namespace.
The built-in apps (fields of the config's apps section with a service of
their own) are left to their services.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from platform_builders.helm_values import load_values
from platform_config import AppConfig, PlatformConfig
from platform_services.chart_app.policies import chart_app_policies, chart_apps
from platform_services.service import ChartAppService, Manifest


class Service(ChartAppService):
    name = "chart_app"

    def applications(self, config: PlatformConfig) -> Mapping[str, AppConfig]:
        return chart_apps(config)

    def mesh_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        return chart_app_policies(config, chart_apps(config))

    def values(self, config: PlatformConfig, name: str, app: AppConfig) -> dict[str, Any]:
        return load_values(app.values_file)
