"""Istio's charts (CRDs, control plane, ingress gateway), pinned."""

from __future__ import annotations

from platform_builders.charts import ChartRef

ISTIO_REPOSITORY = "https://istio-release.storage.googleapis.com/charts"
ISTIO_VERSION = "1.30.3"

ISTIO_BASE = ChartRef(
    repository=ISTIO_REPOSITORY, chart="base", version=ISTIO_VERSION, values_file="istio-base.yaml"
)
ISTIOD = ChartRef(
    repository=ISTIO_REPOSITORY, chart="istiod", version=ISTIO_VERSION, values_file="istiod.yaml"
)
ISTIO_GATEWAY = ChartRef(
    repository=ISTIO_REPOSITORY,
    chart="gateway",
    version=ISTIO_VERSION,
    values_file="istio-gateway.yaml",
)
