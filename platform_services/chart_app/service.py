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
from platform_services.istio import mesh
from platform_services.istio.workloads import GATEWAY
from platform_services.service import ChartAppService, Manifest, by


class Service(ChartAppService):
    name = "chart_app"

    def applications(self, config: PlatformConfig) -> Mapping[str, AppConfig]:
        built_in = type(config.apps).model_fields
        return {name: app for name, app in config.apps.enabled().items() if name not in built_in}

    def mesh_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        policies = []
        for name, app in self.applications(config).items():
            namespace = config.app_namespaces[name]
            # Apps that trust the identity header take traffic from the gateway
            # only; others also from their own namespace (multi-pod charts).
            callers = [by(GATEWAY)]
            if not app.trusts_identity_header:
                callers.append(mesh.Caller(namespaces=[namespace]))
            policies.append(
                mesh.allow(
                    name=f"{name}-callers",
                    namespace=namespace,
                    selector=None,
                    ports=(),
                    callers=callers,
                )
            )
        return policies

    def values(self, config: PlatformConfig, name: str, app: AppConfig) -> dict[str, Any]:
        return load_values(app.values_file)
