"""MLflow's chart (community-charts/mlflow), the default of `apps.mlflow`."""

from __future__ import annotations

from platform_builders.charts import AppChartRef

MLFLOW_CHART = AppChartRef(
    repository="https://community-charts.github.io/helm-charts",
    chart="mlflow",
    version="1.11.5",
    values_file="mlflow.yaml",
)
