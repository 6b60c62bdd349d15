"""ClusterAccess: kubernetes + helm providers for the cluster, as the caller.

Both authenticate with the caller's Google access token (no kubeconfig, no
static credentials in state). dns mode: straight to the DNS-based endpoint
(public CA, IAM-checked). bastion mode: the private endpoint with the
cluster CA, through the IAP tunnel's tinyproxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from cdktf import Fn
from cdktf_cdktf_provider_google.data_google_client_config import DataGoogleClientConfig
from cdktf_cdktf_provider_helm.provider import HelmProvider
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider
from constructs import Construct


@dataclass(frozen=True, kw_only=True)
class ClusterAccessProps:
    endpoint: str
    """DNS-based endpoint host name, or the private endpoint IP."""
    ca_certificate: str | None = None
    """Base64 cluster CA; needed for the IP endpoint, not for the DNS one."""
    proxy_url: str | None = None
    """e.g. http://localhost:8888 while the IAP tunnel runs (bastion mode)."""


def _is_local_tunnel(url: str) -> bool:
    """http://localhost:<port> (or 127.0.0.1), nothing else: no credentials, no path."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in {"localhost", "127.0.0.1"}
        and parts.username is None
        and port is not None
        and parts.path in {"", "/"}
        and not parts.query
        and not parts.fragment
    )


class ClusterAccess(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: ClusterAccessProps) -> None:
        super().__init__(scope, id_)
        if props.proxy_url is not None and not _is_local_tunnel(props.proxy_url):
            raise ValueError(
                "ClusterAccess: proxy_url must be a local tunnel, http://localhost:<port>; "
                f"got {props.proxy_url!r}"
            )
        if props.proxy_url is not None and props.ca_certificate is None:
            raise ValueError("ClusterAccess: the private endpoint needs ca_certificate")
        caller = DataGoogleClientConfig(self, "caller")
        connection: dict[str, str] = {
            "host": f"https://{props.endpoint}",
            "token": caller.access_token,
        }
        if props.ca_certificate is not None:
            connection["cluster_ca_certificate"] = Fn.base64decode(props.ca_certificate)
        if props.proxy_url is not None:
            connection["proxy_url"] = props.proxy_url
        self.kubernetes = KubernetesProvider(self, "kubernetes", **connection)
        self.helm = HelmProvider(self, "helm", kubernetes=connection)
