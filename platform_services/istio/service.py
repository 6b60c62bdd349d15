"""Istio: CRDs, control plane, the ingress gateway, the IAP door and mesh policy.

Install order: istio-base -> istiod -> istio-gateway -> iap-ingress; istiod ->
mesh-policies (mTLS STRICT and deny-by-default in every namespace a service
marks so, then each service's ALLOW rows and NetworkPolicies, in registry order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_google.data_google_project import DataGoogleProject

from platform_config import PlatformConfig
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
                    "service": {"type": "ClusterIP", "annotations": gateway_service_annotations()}
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
        IapIngress(
            stack,
            "iap-ingress",
            props=IapIngressProps(
                namespace=ctx.namespace(GATEWAY_NAMESPACE),
                gateway_service=GATEWAY_RELEASE,
                gateway_selector=GATEWAY.selector,
                routes=routes,
                static_ip_name=ctx.network.ingress_ip.name,
                # The apex and every host a service routes (one certificate each).
                certificate_domains=[config.domain, *routes],
                project_number=project.number,
                helm_provider=ctx.helm,
                kubernetes_provider=ctx.kubernetes,
                depends_on=depends_on,
                backend_timeout_seconds=config.ingress.backend_timeout_seconds,
                connection_draining_seconds=config.ingress.connection_draining_seconds,
            ),
        )
