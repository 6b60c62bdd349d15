"""Every values file a config uses, checked against its chart when the project can.

Custom apps are data: an entry under `apps:` and a file in helm-values/ need
no code. Each values file in use is matched to the exact chart it configures
(repository, chart, version). When a directory of charts/reference/
holds that chart's reference data (its reference.yaml names the chart: the
platform's own charts and the built-in apps' charts at their default versions
today, any other chart once vendored there), the file goes through
`chart_values_problems`; otherwise it is only parsed, and reported as unchecked.

Pure Python (no cdktf): tests and tools can call it in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from platform_builders.helm_values import (
    chart_values_problems,
    load_values,
    reference_directories,
    reference_identity,
)
from platform_config import PlatformConfig
from platform_services.registry import pinned_charts


@dataclass(frozen=True, kw_only=True)
class ChartIdentity:
    repository: str
    chart: str
    version: str

    def __str__(self) -> str:
        return f"{self.chart} {self.version} from {self.repository}"


def _identity(repository: str, chart: str, version: str) -> ChartIdentity:
    return ChartIdentity(repository=repository.rstrip("/"), chart=chart, version=version)


def reference_charts() -> dict[ChartIdentity, str]:
    """Chart -> its reference data directory, from each directory's reference.yaml.

    Data, not code: the platform's charts, the built-ins and any custom app's
    chart are checked alike once charts/reference/<dir>/ describes them.
    """
    return {
        _identity(*reference_identity(directory)): directory
        for directory in reference_directories()
    }


@dataclass(frozen=True, kw_only=True)
class ValuesFileUse:
    file: str
    """File name inside helm-values/."""
    chart: ChartIdentity
    used_by: str
    """What names the file: `apps.<name>` or `platform chart <name>`."""

    @property
    def reference(self) -> str | None:
        """The chart's reference data directory, None when the project has none."""
        return reference_charts().get(self.chart)


def values_file_uses(config: PlatformConfig) -> list[ValuesFileUse]:
    """The platform's own charts, then every enabled app, in config order."""
    uses = [
        ValuesFileUse(
            file=ref.values_file,
            chart=_identity(ref.repository, ref.chart, ref.version),
            used_by=f"platform chart {ref.chart}",
        )
        for ref in pinned_charts()
        if ref.values_file
    ]
    uses += [
        ValuesFileUse(
            file=app.values_file,
            chart=_identity(app.chart_repo, app.chart, app.chart_version),
            used_by=f"apps.{name}",
        )
        for name, app in config.apps.enabled().items()
    ]
    return uses


@dataclass(frozen=True, kw_only=True)
class ValuesAudit:
    problems: list[str]
    """Keys the chart does not have, schema violations, unparsable files."""
    unchecked: list[ValuesFileUse]
    """Parsed, but no reference data for their chart: nothing checked their keys."""


def audit_values_files(config: PlatformConfig) -> ValuesAudit:
    problems: list[str] = []
    unchecked: list[ValuesFileUse] = []
    for use in values_file_uses(config):
        where = f"helm-values/{use.file} ({use.used_by}, chart {use.chart})"
        try:
            values = load_values(use.file)
        except (OSError, ValueError, yaml.YAMLError) as err:
            problems.append(f"{where}: {err}")
            continue
        if use.reference is None:
            unchecked.append(use)
            continue
        problems += [f"{where}: {p}" for p in chart_values_problems(use.reference, values)]
    return ValuesAudit(problems=problems, unchecked=unchecked)
