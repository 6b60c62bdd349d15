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
