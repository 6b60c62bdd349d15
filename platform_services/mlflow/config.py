"""`apps.mlflow`: MLflow's config section (the server and its Cloud SQL database);
its chart defaults are the pin in charts.py. Pure pydantic (no cdktf):
platform_config.apps collects it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from platform_config.base import Port, StrictModel
from platform_config.types import ChartName, ChartVersion, DnsLabel, SqlTier
from platform_config.urls import HttpsOrOciUrl
from platform_config.values_files import ValuesFile
from platform_services.chart_app.config import AppConfig
from platform_services.mlflow.charts import MLFLOW_CHART


class MlflowDatabaseConfig(StrictModel):
    """MLflow's Cloud SQL for PostgreSQL instance."""

    tier: SqlTier = "db-custom-1-3840"
    """Cloud SQL machine tier."""
    high_availability: bool = False
    """REGIONAL (true) or ZONAL (false) availability."""
    disk_size_gb: int = Field(default=20, ge=10, le=10000)
    """Initial disk size (autoresize on)."""
    deletion_protection: bool = True
    """Refuse to delete the instance while true."""


class MlflowConfig(AppConfig):
    """MLflow tracking server (built-in)."""

    chart_repo: HttpsOrOciUrl = MLFLOW_CHART.repository
    chart: ChartName = MLFLOW_CHART.chart
    chart_version: ChartVersion = MLFLOW_CHART.version
    values_file: ValuesFile = MLFLOW_CHART.values_file
    service: DnsLabel = "mlflow"
    service_port: Port = 80
    trusts_identity_header: Literal[False] = False
    """Never: MLflow has no sign-in; the gateway and notebooks may reach it."""
    database: MlflowDatabaseConfig = MlflowDatabaseConfig()
    """The backend store."""
    artifact_retention_days: int | None = Field(default=None, ge=1, le=36500)
    """Delete noncurrent artifact versions after this many days (None keeps them)."""
