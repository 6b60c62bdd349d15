"""IapIngress: the platform's only door, a Google load balancer behind IAP.

GKE Ingress (class gce) on the global static IP with one Google-managed
certificate per host (GKE ManagedCertificate objects), HTTP redirected to
HTTPS (FrontendConfig), IAP on with Google's managed OAuth client
(BackendConfig without oauthclientCredentials), in front of the Istio
ingress gateway (NEG). Inside the mesh the gateway checks
the IAP JWT again, so traffic that bypasses the load balancer gets nothing,
and hands the verified email to apps in a header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_helm.provider import HelmProvider
from cdktf_cdktf_provider_kubernetes.ingress_v1 import IngressV1
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider
from constructs import Construct

from platform_builders.naming import slug
from platform_constructs.managed_certificate import (
    ManagedCertificate,
    ManagedCertificateProps,
    certificate_release_name,
)
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps
from platform_services.istio import mesh

BACKEND_CONFIG_NAME = "iap-gateway"
FRONTEND_CONFIG_NAME = "https-redirect"
GATEWAY_NAME = "platform"

#: Google's limits on a backend service: the timeout is at least an hour here
#: (shorter cuts WebSockets, see IapIngressProps), draining at most an hour.
BACKEND_TIMEOUT_RANGE = range(3600, 86400 + 1)
CONNECTION_DRAINING_RANGE = range(0, 3600 + 1)
#: A target HTTPS proxy holds at most 15 SSL certificates (Compute Engine API).
MAX_CERTIFICATES = 15
MANAGED_CERTIFICATES_ANNOTATION = "networking.gke.io/managed-certificates"
PRE_SHARED_CERT = "ingress.gcp.kubernetes.io/pre-shared-cert"


@dataclass(frozen=True, kw_only=True)
class RouteTarget:
    """Where a host's traffic goes inside the cluster."""

    service: str
    namespace: str
    port: int

    @property
    def fqdn(self) -> str:
        return f"{self.service}.{self.namespace}.svc.cluster.local"


@dataclass(frozen=True, kw_only=True)
class IapIngressProps:
    namespace: str
    """The Istio ingress gateway's namespace."""
    gateway_service: str
    gateway_selector: Mapping[str, str]
    routes: Mapping[str, RouteTarget]
    """Fully qualified host -> in-cluster target."""
    static_ip_name: str
    certificate_domains: Sequence[str]
    """One Google-managed certificate per host: every route host, and any other
    host the load balancer answers for (the apex). At most 15."""
    project_number: str
    helm_provider: HelmProvider
    kubernetes_provider: KubernetesProvider
    depends_on: Sequence[ITerraformDependable]
    """istiod (Istio CRDs and validation webhook) and the gateway release."""
    backend_timeout_seconds: int = 3600
    """The backend service timeout: on Google's external Application Load
    Balancer also the longest a WebSocket stays open (default 30 s without it).
    3600..86400."""
    connection_draining_seconds: int = 60
    """How long a gateway endpoint leaving the NEG keeps serving its open
    connections. 0..3600 (0 turns draining off)."""


def gateway_service_annotations() -> dict[str, str]:
    """For the gateway chart's Service: a NEG for the LB, our BackendConfig."""
    return {
        "cloud.google.com/neg": json.dumps({"ingress": True}),
        "cloud.google.com/backend-config": json.dumps({"default": BACKEND_CONFIG_NAME}),
    }


class IapIngress(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: IapIngressProps) -> None:
        super().__init__(scope, id_)
        _validate(props)
        self.manifests = self._manifests(props)
        self.bundle = ManifestBundle(
            self,
            "routing",
            props=ManifestBundleProps(
                release_name="iap-ingress",
                namespace=props.namespace,
                manifests=self.manifests,
                provider=props.helm_provider,
                depends_on=props.depends_on,
            ),
        )
        self.certificates = self._certificates(props)
        self.ingress = self._ingress(props)

    @staticmethod
    def _manifests(props: IapIngressProps) -> list[mesh.Manifest]:
        """BackendConfig, FrontendConfig, and the gateway's Istio routing and JWT checks."""
        ns = props.namespace
        hosts = sorted(props.routes)
        return [
            {
                "apiVersion": "cloud.google.com/v1",
                "kind": "BackendConfig",
                "metadata": {"name": BACKEND_CONFIG_NAME, "namespace": ns},
                "spec": {
                    # No oauthclientCredentials: IAP uses Google's managed
                    # OAuth client (the IAP OAuth Admin API is shut down).
                    "iap": {"enabled": True},
                    "healthCheck": {
                        "type": "HTTP",
                        "port": mesh.HEALTH_CHECK_PORT,
                        "requestPath": mesh.HEALTH_CHECK_PATH,
                        "checkIntervalSec": 10,
                        "timeoutSec": 5,
                    },
                    "logging": {"enable": True, "sampleRate": 1.0},
                    # Notebook kernels, terminals and Argo CD streams are
                    # WebSockets: they live at most timeoutSec on this LB.
                    "timeoutSec": props.backend_timeout_seconds,
                    "connectionDraining": {"drainingTimeoutSec": props.connection_draining_seconds},
                },
            },
            {
                "apiVersion": "networking.gke.io/v1beta1",
                "kind": "FrontendConfig",
                "metadata": {"name": FRONTEND_CONFIG_NAME, "namespace": ns},
                "spec": {
                    "redirectToHttps": {
                        "enabled": True,
                        "responseCodeName": "MOVED_PERMANENTLY_DEFAULT",
                    }
                },
            },
            mesh.gateway(
                name=GATEWAY_NAME, namespace=ns, selector=props.gateway_selector, hosts=hosts
            ),
            mesh.iap_request_authentication(
                name="iap-jwt", namespace=ns, selector=props.gateway_selector
            ),
            mesh.require_iap(
                name="require-iap",
                namespace=ns,
                selector=props.gateway_selector,
                project_number=props.project_number,
            ),
            *[
                mesh.virtual_service(
                    name=slug(host),
                    namespace=ns,
                    gateway_ref=f"{ns}/{GATEWAY_NAME}",
                    host=host,
                    destination=props.routes[host].fqdn,
                    port=props.routes[host].port,
                )
                for host in hosts
            ],
        ]

    def _certificates(self, props: IapIngressProps) -> list[ManagedCertificate]:
        # One certificate per host, each its own resource whose address and
        # name depend on the host only: adding a host creates one, removing a
        # host deletes one, and the others never change. The Ingress depends on
        # each, so Terraform creates a certificate before listing it and, when
        # a host goes, updates the Ingress (detaches) before deleting it.
        return [
            ManagedCertificate(
                self,
                certificate_release_name(domain),
                props=ManagedCertificateProps(
                    domain=domain, namespace=props.namespace, provider=props.helm_provider
                ),
            )
            for domain in sorted(props.certificate_domains)
        ]

    def _ingress(self, props: IapIngressProps) -> IngressV1:
        return IngressV1(
            self,
            "ingress",
            provider=props.kubernetes_provider,
            metadata={
                "name": "platform",
                "namespace": props.namespace,
                "annotations": {
                    "kubernetes.io/ingress.class": "gce",
                    "kubernetes.io/ingress.global-static-ip-name": props.static_ip_name,
                    # GKE's certificate controller writes pre-shared-cert from
                    # this list; Terraform leaves that annotation to it.
                    MANAGED_CERTIFICATES_ANNOTATION: ",".join(c.name for c in self.certificates),
                    "networking.gke.io/v1beta1.FrontendConfig": FRONTEND_CONFIG_NAME,
                },
            },
            spec={
                "default_backend": {
                    "service": {"name": props.gateway_service, "port": {"number": 80}}
                }
            },
            depends_on=[self.bundle.release, *(c.release for c in self.certificates)],
            # The certificate controller owns pre-shared-cert (the SslCertificates
            # it made, plus any that were there before it): Terraform never
            # rewrites it, so an older certificate keeps serving until removed.
            lifecycle={"ignore_changes": [f'metadata[0].annotations["{PRE_SHARED_CERT}"]']},
        )


def _validate(props: IapIngressProps) -> None:
    if not props.routes:
        raise ValueError("IapIngress: no routes")
    if any("*" in host or "/" in host for host in props.routes):
        raise ValueError("IapIngress: routes take exact host names")
    for field, value, allowed in (
        ("backend_timeout_seconds", props.backend_timeout_seconds, BACKEND_TIMEOUT_RANGE),
        (
            "connection_draining_seconds",
            props.connection_draining_seconds,
            CONNECTION_DRAINING_RANGE,
        ),
    ):
        if isinstance(value, bool) or value not in allowed:
            raise ValueError(
                f"IapIngress: {field} must be within {allowed.start}..{allowed.stop - 1}, "
                f"got {value!r}"
            )
    domains = list(props.certificate_domains)
    if len(set(domains)) != len(domains):
        raise ValueError(f"IapIngress: duplicate certificate domains in {domains}")
    if len(domains) > MAX_CERTIFICATES:
        raise ValueError(
            f"IapIngress: {len(domains)} certificate domains; a load balancer holds at most "
            f"{MAX_CERTIFICATES} certificates"
        )
    uncovered = sorted(set(props.routes) - set(domains))
    if uncovered:
        raise ValueError(f"IapIngress: routes without a certificate: {', '.join(uncovered)}")
