"""IapIngress: the platform's only door, a Google load balancer behind IAP.

A global external Application Load Balancer (EXTERNAL_MANAGED) owned by
Terraform, in front of the Istio ingress gateway's standalone NEG (one per zone,
named by the gateway Service's annotation): the certificate map of the
Certificate Manager wildcards (network stack) on the target HTTPS proxy, the
backend service with IAP on and NO OAuth client (Google's managed client), a
long timeout for WebSockets, the gateway's status port as health check, the
firewall rule for Google's health checkers and front ends, and HTTP redirected
to HTTPS on the same IP. Inside the mesh the gateway checks the IAP JWT again,
so traffic that bypasses the load balancer gets nothing, and hands the
verified email to apps in a header. Why this load balancer and not the classic
Ingress or the GKE Gateway: docs/architecture.md, "The door".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable, TerraformIterator, Token
from cdktf_cdktf_provider_google.compute_backend_service import ComputeBackendService
from cdktf_cdktf_provider_google.compute_firewall import ComputeFirewall, ComputeFirewallAllow
from cdktf_cdktf_provider_google.compute_global_forwarding_rule import (
    ComputeGlobalForwardingRule,
)
from cdktf_cdktf_provider_google.compute_health_check import ComputeHealthCheck
from cdktf_cdktf_provider_google.compute_ssl_policy import ComputeSslPolicy
from cdktf_cdktf_provider_google.compute_target_http_proxy import ComputeTargetHttpProxy
from cdktf_cdktf_provider_google.compute_target_https_proxy import ComputeTargetHttpsProxy
from cdktf_cdktf_provider_google.compute_url_map import ComputeUrlMap
from cdktf_cdktf_provider_helm.provider import HelmProvider
from constructs import Construct

from platform_builders.naming import slug
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps
from platform_services.istio import mesh

GATEWAY_NAME = "platform"
#: The gateway Service's port the NEG exposes (the gateway listens on 80).
GATEWAY_SERVICE_PORT = 80
LOAD_BALANCING_SCHEME = "EXTERNAL_MANAGED"

#: Google's limits on a backend service: the timeout is at least an hour here
#: (shorter cuts WebSockets, see IapIngressProps), draining at most an hour.
BACKEND_TIMEOUT_RANGE = range(3600, 86400 + 1)
CONNECTION_DRAINING_RANGE = range(0, 3600 + 1)
#: The door's objects by role (their names come from the config layer).
DOOR_PARTS = (
    "health-check",
    "backend",
    "ssl-policy",
    "url-map",
    "https-proxy",
    "https",
    "redirect-url-map",
    "http-proxy",
    "http",
)


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
    gateway_selector: Mapping[str, str]
    routes: Mapping[str, RouteTarget]
    """Fully qualified host (or `*.<host>`: every name under it) -> in-cluster target."""
    project_id: str
    project_number: str
    names: Mapping[str, str]
    """Part (DOOR_PARTS) -> Google name of each load balancer object."""
    neg_name: str
    """The gateway Service's standalone NEG (gateway_service_annotations)."""
    zones: Sequence[str]
    """Zones that always have nodes: the NEG controller makes one NEG in each
    zone with nodes, and the backend links each by its known self-link."""
    ip_address: str
    """The global static IP (network stack), on :443 and :80."""
    certificate_map: str
    """//certificatemanager.googleapis.com/<map id> (network stack)."""
    network: str
    """The VPC (the health-check firewall rule's network)."""
    node_service_account: str
    """The nodes' service account email: the firewall rule's target."""
    helm_provider: HelmProvider
    depends_on: Sequence[ITerraformDependable]
    """istiod (Istio CRDs and validation webhook) and the gateway release; the
    backend service waits for them (the NEGs exist once the gateway is up)."""
    backend_timeout_seconds: int = 3600
    """The backend service timeout: on Google's external Application Load
    Balancer also the longest a WebSocket stays open (default 30 s without it).
    3600..86400."""
    connection_draining_seconds: int = 60
    """How long a gateway endpoint leaving the NEG keeps serving its open
    connections. 0..3600 (0 turns draining off)."""


def gateway_service_annotations(neg_name: str) -> dict[str, str]:
    """For the gateway chart's Service: a standalone NEG with a known name.

    A custom name cannot be combined with "ingress": true (ingress-gce
    pkg/neg/controller.go), and no BackendConfig is involved any more."""
    return {
        "cloud.google.com/neg": json.dumps(
            {"exposed_ports": {str(GATEWAY_SERVICE_PORT): {"name": neg_name}}}
        )
    }


def neg_self_link(project_id: str, zone: str, neg_name: str) -> str:
    return (
        f"https://www.googleapis.com/compute/v1/projects/{project_id}/zones/{zone}"
        f"/networkEndpointGroups/{neg_name}"
    )


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
        self.health_check_firewall = self._firewall(props)
        self.health_check = ComputeHealthCheck(
            self,
            "health-check",
            name=props.names["health-check"],
            description="The Istio gateway's readiness on its status port",
            check_interval_sec=10,
            timeout_sec=5,
            http_health_check={
                "port": mesh.HEALTH_CHECK_PORT,
                "port_specification": "USE_FIXED_PORT",
                "request_path": mesh.HEALTH_CHECK_PATH,
            },
            log_config={"enable": True},
        )
        self.backend = self._backend(props)
        self._https(props)
        self._redirect(props)

    def _firewall(self, props: IapIngressProps) -> ComputeFirewall:
        # The Ingress controller made this rule itself; with standalone NEGs
        # nobody does. GFE proxies and health checkers share these ranges for
        # zonal NEGs (Google's "Firewall rules" page for load balancers).
        return ComputeFirewall(
            self,
            "health-check-firewall",
            name=props.names["firewall"],
            network=props.network,
            direction="INGRESS",
            source_ranges=list(mesh.GOOGLE_LOAD_BALANCER_RANGES),
            target_service_accounts=[props.node_service_account],
            allow=[
                ComputeFirewallAllow(
                    protocol="tcp",
                    ports=[str(GATEWAY_SERVICE_PORT), str(mesh.HEALTH_CHECK_PORT)],
                )
            ],
            log_config={"metadata": "EXCLUDE_ALL_METADATA"},
        )

    def _backend(self, props: IapIngressProps) -> ComputeBackendService:
        zones = TerraformIterator.from_list(list(props.zones))
        return ComputeBackendService(
            self,
            "backend",
            name=props.names["backend"],
            description="IAP in front of the Istio ingress gateway",
            load_balancing_scheme=LOAD_BALANCING_SCHEME,
            protocol="HTTP",
            # Notebook kernels, terminals and Argo CD streams are WebSockets:
            # they live at most timeout_sec on this load balancer.
            timeout_sec=props.backend_timeout_seconds,
            connection_draining_timeout_sec=props.connection_draining_seconds,
            health_checks=[self.health_check.id],
            # No oauth2_client_id/secret: IAP uses Google's managed OAuth client
            # ("If OAuth client is not set, the Google-managed OAuth client is
            # used", provider 6.50.0). A backend that ever had a custom client
            # does not switch back, so this one never gets one.
            iap={"enabled": True},
            log_config={"enable": True, "sample_rate": 1},
            backend=zones.dynamic(
                {
                    "group": neg_self_link(
                        props.project_id, Token.as_string(zones.value), props.neg_name
                    ),
                    "balancing_mode": "RATE",
                    "max_rate_per_endpoint": 1000,
                    "capacity_scaler": 1,
                }
            ),
            # The NEGs are made by GKE's NEG controller once the gateway
            # Service exists: after the gateway release (wait = true).
            depends_on=[*props.depends_on, self.health_check_firewall],
        )

    def _https(self, props: IapIngressProps) -> None:
        self.url_map = ComputeUrlMap(
            self,
            "url-map",
            name=props.names["url-map"],
            description="Every host to the Istio gateway (it routes by host)",
            default_service=self.backend.id,
        )
        self.ssl_policy = ComputeSslPolicy(
            self,
            "ssl-policy",
            name=props.names["ssl-policy"],
            profile="MODERN",
            min_tls_version="TLS_1_2",
        )
        self.https_proxy = ComputeTargetHttpsProxy(
            self,
            "https-proxy",
            name=props.names["https-proxy"],
            url_map=self.url_map.id,
            certificate_map=props.certificate_map,
            ssl_policy=self.ssl_policy.id,
        )
        self.https_rule = self._forwarding_rule(
            props, "https", port=443, target=self.https_proxy.id
        )

    def _redirect(self, props: IapIngressProps) -> None:
        self.redirect_url_map = ComputeUrlMap(
            self,
            "redirect-url-map",
            name=props.names["redirect-url-map"],
            description="HTTP -> HTTPS, same host, path and query",
            default_url_redirect={
                "https_redirect": True,
                "strip_query": False,
                "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT",
            },
        )
        self.http_proxy = ComputeTargetHttpProxy(
            self, "http-proxy", name=props.names["http-proxy"], url_map=self.redirect_url_map.id
        )
        self.http_rule = self._forwarding_rule(props, "http", port=80, target=self.http_proxy.id)

    def _forwarding_rule(
        self, props: IapIngressProps, part: str, *, port: int, target: str
    ) -> ComputeGlobalForwardingRule:
        """The static IP's `port` to `target` (construct id <part>-forwarding-rule)."""
        return ComputeGlobalForwardingRule(
            self,
            f"{part}-forwarding-rule",
            name=props.names[part],
            load_balancing_scheme=LOAD_BALANCING_SCHEME,
            ip_address=props.ip_address,
            ip_protocol="TCP",
            port_range=str(port),
            target=target,
        )

    @staticmethod
    def _manifests(props: IapIngressProps) -> list[mesh.Manifest]:
        """The gateway's Istio routing and JWT checks."""
        ns = props.namespace
        hosts = sorted(props.routes)
        return [
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
                    name=_virtual_service_name(host),
                    namespace=ns,
                    gateway_ref=f"{ns}/{GATEWAY_NAME}",
                    host=host,
                    destination=props.routes[host].fqdn,
                    port=props.routes[host].port,
                )
                for host in hosts
            ],
        ]


def _virtual_service_name(host: str) -> str:
    """`jupyterhub.example.com` -> jupyterhub-example-com; its wildcard
    `*.jupyterhub.example.com` -> wildcard-jupyterhub-example-com (a slug alone
    would give both the same name)."""
    if host.startswith("*."):
        return "wildcard-" + slug(host[2:])
    return slug(host)


def _validate(props: IapIngressProps) -> None:
    if not props.routes:
        raise ValueError("IapIngress: no routes")
    # Exact names, or a wildcard for every name under one (`*.<host>`, as Istio's
    # Gateway and VirtualService hosts take it: a leading `*.` only).
    if any("*" in host.removeprefix("*.") or "/" in host for host in props.routes):
        raise ValueError("IapIngress: routes take exact host names or *.<host name>")
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
    missing = sorted({*DOOR_PARTS, "firewall"} - set(props.names))
    if missing:
        raise ValueError(f"IapIngress: no name for {', '.join(missing)}")
    if not props.certificate_map.startswith("//certificatemanager.googleapis.com/"):
        raise ValueError(
            "IapIngress: certificate_map takes //certificatemanager.googleapis.com/<id>"
        )
