"""Reachability of the config's chart apps (pure: the Istio ALLOW rows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platform_config import AppConfig, PlatformConfig
from platform_services.istio import mesh
from platform_services.istio.workloads import GATEWAY


def chart_app_policies(
    config: PlatformConfig, apps: Mapping[str, AppConfig]
) -> list[dict[str, Any]]:
    """One ALLOW per app namespace: the gateway, and the namespace's own pods
    unless the app trusts the identity header (then the gateway only)."""
    policies = []
    for name, app in apps.items():
        namespace = config.app_namespaces[name]
        callers = [mesh.Caller(principals=[GATEWAY.principal])]
        if not app.trusts_identity_header:
            # Multi-pod charts call themselves inside their namespace.
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


def chart_apps(config: PlatformConfig) -> dict[str, AppConfig]:
    """The enabled apps of the config's `apps:` that no built-in service runs."""
    built_in = type(config.apps).model_fields
    return {name: app for name, app in config.apps.enabled().items() if name not in built_in}
