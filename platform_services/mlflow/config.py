"""`apps.mlflow`: MLflow's config section (the server and its Cloud SQL database);
its chart defaults are the pin in charts.py. Pure pydantic (no cdktf):
platform_config.apps collects it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from platform_config.base import Port, StrictModel, unique
from platform_config.types import ChartName, ChartVersion, DnsLabel, Email, SqlTier
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


class MlflowAuthConfig(StrictModel):
    """Who may do what in MLflow. Identities are the platform's: IAP emails from
    browsers (through the gateway), JupyterHub users from notebooks (their token)."""

    admins: Annotated[list[Email], AfterValidator(unique)] = Field(
        default_factory=list, max_length=500
    )
    """Emails of MLflow admins: they manage every experiment, model and user."""
    default_permission: Literal["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS"] = "READ"
    """What every user gets on experiments, models, traces and prompts that are
    not theirs (MLflow's permission names; the creator gets MANAGE)."""


class MlflowConfig(AppConfig):
    """MLflow tracking server (built-in)."""

    chart_repo: HttpsOrOciUrl = MLFLOW_CHART.repository
    chart: ChartName = MLFLOW_CHART.chart
    chart_version: ChartVersion = MLFLOW_CHART.version
    values_file: ValuesFile = MLFLOW_CHART.values_file
    service: DnsLabel = "mlflow"
    service_port: Port = 80
    trusts_identity_header: Literal[True] = True
    """Always: MLflow's authorization function
    (platform_services/mlflow/scripts/platform_mlflow_auth.py) believes the
    gateway's identity header, from the gateway only."""
    auth: MlflowAuthConfig = MlflowAuthConfig()
    """Admins and the default permission."""
    database: MlflowDatabaseConfig = MlflowDatabaseConfig()
    """The backend store."""
    artifact_retention_days: int | None = Field(default=None, ge=1, le=36500)
    """Delete noncurrent artifact versions after this many days (None keeps them)."""
