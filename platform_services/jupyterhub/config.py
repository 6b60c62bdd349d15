"""`apps.jupyterhub`: JupyterHub's config section; its chart defaults are the pin
in charts.py. Pure pydantic (no cdktf): platform_config.apps collects it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from platform_config.base import Port, unique
from platform_config.types import ChartName, ChartVersion, DnsLabel, Email, KubernetesQuantity
from platform_config.urls import HttpsOrOciUrl
from platform_config.values_files import ValuesFile
from platform_services.chart_app.config import AppConfig
from platform_services.jupyterhub.charts import JUPYTERHUB_CHART


class JupyterHubConfig(AppConfig):
    """JupyterHub (built-in)."""

    chart_repo: HttpsOrOciUrl = JUPYTERHUB_CHART.repository
    chart: ChartName = JUPYTERHUB_CHART.chart
    chart_version: ChartVersion = JUPYTERHUB_CHART.version
    values_file: ValuesFile = JUPYTERHUB_CHART.values_file
    service: DnsLabel = "proxy-public"
    service_port: Port = 80
    trusts_identity_header: Literal[True] = True
    """Always: the hub signs users in from the gateway's identity header."""
    storage_size: KubernetesQuantity = "10Gi"
    """Per-user persistent volume."""
    admin_users: Annotated[list[Email], AfterValidator(unique)] = Field(
        default_factory=list, max_length=500
    )
    """Emails of JupyterHub admins."""
    cull_idle_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    """Stop a user's server after this long without activity."""
