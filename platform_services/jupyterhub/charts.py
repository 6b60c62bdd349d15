"""JupyterHub's chart (zero-to-jupyterhub), the default of `apps.jupyterhub`."""

from __future__ import annotations

from platform_builders.charts import AppChartRef

JUPYTERHUB_CHART = AppChartRef(
    repository="https://hub.jupyter.org/helm-chart/",
    chart="jupyterhub",
    version="4.4.0",
    values_file="jupyterhub.yaml",
)
