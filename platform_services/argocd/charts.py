"""Argo CD's charts, pinned."""

from __future__ import annotations

from platform_builders.charts import ChartRef

ARGO_HELM_REPOSITORY = "https://argoproj.github.io/argo-helm"
ARGO_CD = ChartRef(
    repository=ARGO_HELM_REPOSITORY,
    chart="argo-cd",
    version="10.1.1",
    values_file="argo-cd.yaml",
)
#: Applications live in their own chart: argo-cd templates its CRDs, so a CR
#: in the same release fails on a fresh cluster (Helm validates every manifest
#: against the API before the CRD exists: "no matches for kind Application").
ARGOCD_APPS = ChartRef(
    repository=ARGO_HELM_REPOSITORY,
    chart="argocd-apps",
    version="2.0.5",
    values_file=None,
)
