"""External Secrets Operator's chart, pinned."""

from __future__ import annotations

from platform_builders.charts import ChartRef

EXTERNAL_SECRETS = ChartRef(
    repository="https://charts.external-secrets.io",
    chart="external-secrets",
    version="2.9.0",
    values_file="external-secrets.yaml",
)
