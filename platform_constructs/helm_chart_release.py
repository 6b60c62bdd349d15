"""HelmChartRelease: a pinned chart, its values file, a few computed values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_helm.provider import HelmProvider
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

from platform_builders.charts import ChartRef
from platform_builders.helm_values import deep_merge, load_values, to_values_yaml


@dataclass(frozen=True, kw_only=True)
class HelmChartReleaseProps:
    chart: ChartRef
    release_name: str
    namespace: str
    provider: HelmProvider
    computed_values: Mapping[str, Any] = field(default_factory=dict)
    """Merged over the chart's helm-values/ file (maps merge, the rest replaces)."""
    depends_on: Sequence[ITerraformDependable] = ()
    wait: bool = True
    """Wait until every resource is ready: later releases rely on this one."""
    timeout_seconds: int = 600
    atomic: bool = True
    """Roll back a failed install/upgrade instead of leaving it half-done."""


class HelmChartRelease(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: HelmChartReleaseProps) -> None:
        super().__init__(scope, id_)
        if not 60 <= props.timeout_seconds <= 3600:
            raise ValueError("HelmChartRelease: timeout_seconds must be within 60..3600")
        base = load_values(props.chart.values_file) if props.chart.values_file else {}
        self.values = deep_merge(base, dict(props.computed_values))
        self.release = Release(
            self,
            "release",
            provider=props.provider,
            name=props.release_name,
            namespace=props.namespace,
            create_namespace=False,  # namespaces are typed resources of the stack
            repository=props.chart.repository,
            chart=props.chart.chart,
            version=props.chart.version,
            values=[to_values_yaml(self.values)],
            wait=props.wait,
            wait_for_jobs=props.wait,
            atomic=props.atomic,
            cleanup_on_fail=True,
            timeout=props.timeout_seconds,
            max_history=5,
            depends_on=list(props.depends_on),
        )
