"""`apps.<name>`: a Helm chart Argo CD runs behind IAP, the config section of the
generic chart app (and the base of the built-in apps' sections).

Pure pydantic (no cdktf): platform_config.apps collects it.
"""

from __future__ import annotations

from platform_config.base import Port, StrictModel
from platform_config.types import ChartName, ChartVersion, DnsLabel
from platform_config.urls import HttpsOrOciUrl
from platform_config.values_files import ValuesFile


class AppConfig(StrictModel):
    """A Helm chart that Argo CD runs at <host>.<domain> behind IAP."""

    enabled: bool = True
    """Whether Argo CD runs the app."""
    chart_repo: HttpsOrOciUrl
    """Helm repository (https:// or oci://)."""
    chart: ChartName
    """Chart name in the repository."""
    chart_version: ChartVersion
    """Exact chart version (x.y.z[-pre])."""
    values_file: ValuesFile
    """File name inside helm-values/ (must exist and hold a YAML mapping)."""
    host: DnsLabel | None = None
    """Subdomain; defaults to the app's key."""
    namespace: DnsLabel | None = None
    """Kubernetes namespace; defaults to the app's key."""
    service: DnsLabel
    """The chart's Service that the gateway routes to."""
    service_port: Port
    """Port of that Service."""
    trusts_identity_header: bool = False
    """The app signs users in from the x-iap-user-email header the gateway writes
    from the verified IAP token. Then only the gateway may reach the app's
    namespace (no pod-to-pod traffic inside it); otherwise the gateway and the
    app's own namespace may."""
