"""A pinned Helm chart: repository, name, exact version and static values file.

Each service pins its own charts in its package (platform_services/<name>/charts.py);
`platform_services.registry.pinned_charts()` lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ChartRef:
    repository: str
    chart: str
    version: str
    values_file: str | None
    """Static values in helm-values/; None for charts configured only by code."""


@dataclass(frozen=True, kw_only=True)
class AppChartRef(ChartRef):
    """The default chart of a built-in app (JupyterHub, MLflow).

    Not one of the platform's pinned charts: Argo CD installs it as an app of
    the config, whose `apps.<name>` fields default to this ref and may override
    it. So `platform_services.registry.pinned_charts()` leaves it out, and the
    values audit checks its values file once, as the config's `apps.<name>`.
    """

    values_file: str
    """The app's default values file in helm-values/ (an app always has one)."""
