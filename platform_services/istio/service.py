"""Istio: CRDs, control plane, the ingress gateway, the IAP door and mesh policy.

Install order: istio-base -> istiod -> istio-gateway (wait) -> iap-ingress (Istio
routing, then the load balancer on the gateway's NEGs); istiod ->
mesh-policies (mTLS STRICT and deny-by-default in every namespace a service
marks so, then each service's ALLOW rows and NetworkPolicies, in registry order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cdktf import Fn, ITerraformDependable, Token
from cdktf_cdktf_provider_google.data_google_project import DataGoogleProject

from platform_config import PlatformConfig
from platform_config.names import door_names
from platform_constructs.helm_chart_release import HelmChartReleaseProps
from platform_constructs.iap_ingress import (
    IapIngress,
    IapIngressProps,
    RouteTarget,
    gateway_service_annotations,
)
from platform_constructs.iap_web_access import IapWebAccess, IapWebAccessProps
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps
from platform_services.istio import mesh
from platform_services.istio.charts import ISTIO_BASE, ISTIO_GATEWAY, ISTIOD
from platform_services.istio.workloads import (
    GATEWAY,
    GATEWAY_NAMESPACE,
    GATEWAY_RELEASE,
    ISTIO_NAMESPACE,
)
from platform_services.service import (
    BootstrapContext,
    ClusterContext,
    Manifest,
    Namespace,
    PlatformService,
)

if TYPE_CHECKING:
    from stacks.base import PlatformStack


class Service(PlatformService):
    name = "istio"

    def namespaces(self, config: PlatformConfig) -> Sequence[Namespace]:
        return [Namespace(name=ISTIO_NAMESPACE), Namespace(name=GATEWAY_NAMESPACE, sidecars=True)]

    def network_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        # Only Google's front ends reach the gateway (the IAP door's traffic).
        return [
            mesh.network_policy(
                name="gateway-from-google-load-balancer",
                namespace=GATEWAY_NAMESPACE,
                selector=GATEWAY.selector,
                ports=[*GATEWAY.ports, mesh.HEALTH_CHECK_PORT],
                sources=[{"ipBlock": {"cidr": cidr}} for cidr in mesh.GOOGLE_LOAD_BALANCER_RANGES],
            )
        ]

    def provision(self, stack: PlatformStack, ctx: ClusterContext) -> None:
        IapWebAccess(
            stack,
            "iap-access",
            props=IapWebAccessProps(
                project_id=ctx.config.project_id, members=ctx.config.access.iap_members
            ),
        )

    def install(self, stack: PlatformStack, ctx: BootstrapContext) -> None:
        istio_base = self.release(
            stack,
            "istio-base",
            HelmChartReleaseProps(
                chart=ISTIO_BASE,
                release_name="istio-base",
                namespace=ctx.namespace(ISTIO_NAMESPACE),
                provider=ctx.helm,
            ),
        )
        istiod = self.release(
            stack,
            "istiod",
            HelmChartReleaseProps(
                chart=ISTIOD,
                release_name="istiod",
                namespace=ctx.namespace(ISTIO_NAMESPACE),
                provider=ctx.helm,
                depends_on=[istio_base.release],
            ),
        )
        ctx.stages.provide(self.name, "istiod", istiod.release)
        gateway = self.release(
            stack,
            "istio-gateway",
            HelmChartReleaseProps(
                chart=ISTIO_GATEWAY,
                release_name=GATEWAY_RELEASE,
                namespace=ctx.namespace(GATEWAY_NAMESPACE),
                provider=ctx.helm,
                computed_values={
                    "service": {
                        "type": "ClusterIP",
                        "annotations": gateway_service_annotations(ctx.config.names.gateway_neg),
                    }
                },
                depends_on=[istiod.release],
            ),
        )
        policies = ManifestBundle(
            stack,
            "mesh-policies",
            props=ManifestBundleProps(
                release_name="mesh-policies",
                namespace=ctx.namespace(ISTIO_NAMESPACE),
                manifests=[
                    *self._baseline(ctx),
                    *ctx.collect("mesh_policies", ctx.config),
                    *ctx.collect("network_policies", ctx.config),
                ],
                provider=ctx.helm,
                depends_on=[istiod.release],
                # Writes into argocd and every app namespace, not just its own.
                namespaces=ctx.namespace_references,
            ),
        )
        ctx.stages.provide(self.name, "mesh-policies", policies.release)
        self._door(stack, ctx, depends_on=[istiod.release, gateway.release])

    @staticmethod
    def _baseline(ctx: BootstrapContext) -> list[Manifest]:
        """mTLS STRICT, then allow-nothing, in every namespace marked deny-by-default."""
        namespaces = sorted(
            {ns.name for s in ctx.services for ns in s.namespaces(ctx.config) if ns.deny_by_default}
        )
        return [
            *(mesh.strict_mtls(namespace=namespace) for namespace in namespaces),
            *(mesh.allow_nothing(namespace=namespace) for namespace in namespaces),
        ]

    @staticmethod
    def _door(
        stack: PlatformStack, ctx: BootstrapContext, depends_on: Sequence[ITerraformDependable]
    ) -> None:
        """The load balancer + IAP -> gateway -> one route per service host."""
        config = ctx.config
        routes: dict[str, RouteTarget] = {}
        for service in ctx.services:
            routes.update(service.routes(config))
        project = DataGoogleProject(stack, "project", project_id=config.project_id)
        gke = ctx.cluster.gke
        # Zones whose nodes never all go away (pools with min_nodes >= 1, or
        # every pool if none): GKE made a gateway NEG in each of them.
        pools = [
            built
            for built, pool in zip(gke.node_pools, config.cluster.node_pools, strict=True)
            if pool.min_nodes >= 1
        ] or gke.node_pools
        locations = [Fn.tolist(pool.pool.node_locations) for pool in pools]
        zones = Token.as_list(
            Fn.sort(Token.as_list(Fn.distinct(Token.as_list(Fn.flatten(locations)))))
        )
        IapIngress(
            stack,
            "iap-ingress",
            props=IapIngressProps(
                namespace=ctx.namespace(GATEWAY_NAMESPACE),
                gateway_selector=GATEWAY.selector,
                routes=routes,
                project_id=config.project_id,
                project_number=project.number,
                names={
                    **door_names(config.names),
                    "firewall": config.names.health_check_firewall,
                },
                neg_name=config.names.gateway_neg,
                zones=zones,
                ip_address=ctx.network.ingress_ip.address,
                certificate_map=ctx.network.certificates.map_reference,
                network=ctx.network.vpc.network.id,
                node_service_account=gke.node_identity.email,
                helm_provider=ctx.helm,
                depends_on=depends_on,
                backend_timeout_seconds=config.ingress.backend_timeout_seconds,
                connection_draining_seconds=config.ingress.connection_draining_seconds,
            ),
        )
