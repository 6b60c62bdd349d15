"""The built-in services, in install order, found by package name.

Each entry names a package of platform_services/. By convention the package
holds `charts.py` (its pinned charts, pure data; a built-in app's default chart
is an AppChartRef there, which pinned_charts() leaves out) and `service.py`
(the PlatformService subclass `Service`, which creates constructs). Listing the
packages here is all it takes to add a built-in service; this module imports
no cdktf, so the config checker can list the pinned charts before jsii loads.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from platform_builders.charts import AppChartRef, ChartRef

if TYPE_CHECKING:
    from platform_config import PlatformConfig
    from platform_services.service import PlatformService

#: Install order: the order of the constructs and of every shared list the
#: services contribute to (namespaces, secrets, mesh policies, routes, facts).
BUILT_IN_SERVICES: tuple[str, ...] = (
    "istio",
    "external_secrets",
    "argocd",
    "jupyterhub",
    "mlflow",
    "chart_app",
)


def pinned_charts(packages: Sequence[str] = BUILT_IN_SERVICES) -> list[ChartRef]:
    """Every chart the services pin, in install order (pure: no cdktf).

    Not the built-in apps' default charts (AppChartRef): the config's `apps`
    section says which chart each app runs, and the values audit reads it there.
    """
    charts: list[ChartRef] = []
    for package in packages:
        try:
            module = importlib.import_module(f"platform_services.{package}.charts")
        except ModuleNotFoundError as error:
            if error.name != f"platform_services.{package}.charts":
                raise
            continue
        charts += [
            ref
            for ref in vars(module).values()
            if isinstance(ref, ChartRef) and not isinstance(ref, AppChartRef)
        ]
    return charts


def fixed_namespaces(packages: Sequence[str] = BUILT_IN_SERVICES) -> frozenset[str]:
    """The namespaces services own whatever the config says (`NAMESPACES` in each
    package's workloads.py): no app or team may take one (pure: no cdktf)."""
    found: set[str] = set()
    for package in packages:
        try:
            module = importlib.import_module(f"platform_services.{package}.workloads")
        except ModuleNotFoundError as error:
            if error.name != f"platform_services.{package}.workloads":
                raise
            continue
        found.update(getattr(module, "NAMESPACES", ()))
    return frozenset(found)


def built_in_services() -> list[PlatformService]:
    """One instance of each built-in service, in install order (imports cdktf)."""
    return [
        importlib.import_module(f"platform_services.{package}.service").Service()
        for package in BUILT_IN_SERVICES
    ]


def enabled_services(
    config: PlatformConfig, services: Sequence[PlatformService] | None = None
) -> list[PlatformService]:
    """The services the config turns on (all built-ins by default), in order."""
    return [s for s in (built_in_services() if services is None else services) if s.enabled(config)]
