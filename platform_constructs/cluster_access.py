"""ClusterAccess: kubernetes + helm providers for the cluster, as the caller.

Both authenticate through the `gke-gcloud-auth-plugin` exec plugin (part of
the gcloud SDK), which hands kubectl-style clients a fresh token of the
operator's gcloud login on every call: no token is read into Terraform
state (a data source's attributes are stored there, sensitive ones too), and
none expires while a deploy waits for approval. No kubeconfig, no static
credentials. dns mode: straight to the DNS-based endpoint (public CA,
IAM-checked). bastion mode: the private endpoint with the cluster CA,
through the IAP tunnel's tinyproxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cdktf import Fn
from cdktf_cdktf_provider_helm.provider import (
    HelmProvider,
    HelmProviderKubernetes,
    HelmProviderKubernetesExec,
)
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider, KubernetesProviderExec
from constructs import Construct

#: The credential plugin GKE documents for kubectl and Terraform (gcloud
#: components install gke-gcloud-auth-plugin), and the API it speaks.
EXEC_PLUGIN = "gke-gcloud-auth-plugin"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


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
        connection: dict[str, Any] = {"host": f"https://{props.endpoint}"}
        if props.ca_certificate is not None:
            connection["cluster_ca_certificate"] = Fn.base64decode(props.ca_certificate)
        if props.proxy_url is not None:
            connection["proxy_url"] = props.proxy_url
        self.kubernetes = KubernetesProvider(
            self,
            "kubernetes",
            exec=[KubernetesProviderExec(api_version=EXEC_API_VERSION, command=EXEC_PLUGIN)],
            **connection,
        )
        self.helm = HelmProvider(
            self,
            "helm",
            kubernetes=HelmProviderKubernetes(
                exec=HelmProviderKubernetesExec(api_version=EXEC_API_VERSION, command=EXEC_PLUGIN),
                **connection,
            ),
        )
