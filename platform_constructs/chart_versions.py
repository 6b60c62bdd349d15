"""Every Helm chart the bootstrap stack installs, pinned in this one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ChartRef:
    repository: str
    chart: str
    version: str
    values_file: str | None
    """Static values in helm-values/; None for charts configured only by code."""


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
EXTERNAL_SECRETS = ChartRef(
    repository="https://charts.external-secrets.io",
    chart="external-secrets",
    version="2.9.0",
    values_file="external-secrets.yaml",
)
ARGO_CD = ChartRef(
    repository="https://argoproj.github.io/argo-helm",
    chart="argo-cd",
    version="10.1.1",
    values_file="argo-cd.yaml",
)
#: Applications live in their own chart: argo-cd templates its CRDs, so a CR
#: in the same release fails on a fresh cluster (Helm validates every manifest
#: against the API before the CRD exists: "no matches for kind Application").
ARGOCD_APPS = ChartRef(
    repository="https://argoproj.github.io/argo-helm",
    chart="argocd-apps",
    version="2.0.5",
    values_file=None,
)
