"""bootstrap stack: every service's Kubernetes side, in registry order.

Install order (each arrow a depends_on, so one `cdktf deploy` works on a
fresh cluster; no custom resource is planned before its CRD exists):

  namespaces -> everything in them (a reference to the namespace, never its literal name)
  istio:            istio-base -> istiod -> istio-gateway -> iap-ingress CRs -> Ingress
                    istiod -> mesh-policies (mTLS STRICT, deny by default, one ALLOW per workload)
  external_secrets: operator (wait for webhook) -> external-secrets-config (store,
                    ExternalSecrets, Password generators for the apps' own secrets)
  argocd:           istiod + external-secrets-config + mesh-policies -> argo-cd
                    -> argocd-projects -> Applications; in-cluster registration -> app-root
  apps:             (mlflow: namespace -> mlflow-database-grant hook Job) -> app-<name>
  certificate per host -> Ingress (listed only once created; dropped before deleted)

Services hand these stages to each other by name (platform_services/service.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformOutput
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider
from constructs import Construct

from platform_config import PlatformConfig
from platform_constructs.cluster_access import ClusterAccess, ClusterAccessProps
from platform_services.service import BootstrapContext, PlatformService
from stacks.base import PlatformStack
from stacks.cluster import ClusterStack
from stacks.network import NetworkStack


class BootstrapStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        *,
        config: PlatformConfig,
        network: NetworkStack,
        cluster: ClusterStack,
        services: Sequence[PlatformService],
    ) -> None:
        super().__init__(scope, "bootstrap", config=config)
        gke = cluster.gke
        bastion = gke.bastion
        access = ClusterAccess(
            self,
            "cluster-access",
            props=ClusterAccessProps(
                endpoint=gke.endpoint,
                ca_certificate=gke.ca_certificate if bastion is not None else None,
                proxy_url=bastion.proxy_url if bastion is not None else None,
            ),
        )
        ctx = BootstrapContext(
            config=config,
            network=network,
            cluster=cluster.platform,
            helm=access.helm,
            kubernetes=access.kubernetes,
            namespaces=self._namespaces(config, services, access.kubernetes),
            services=services,
        )
        for service in services:
            service.install(self, ctx)

        TerraformOutput(
            self,
            "app_urls",
            value={name: f"https://{host}" for name, host in config.app_hosts.items()},
        )
        self.next_step(self._remaining_steps(config, network, cluster, services))

    def _namespaces(
        self,
        config: PlatformConfig,
        services: Sequence[PlatformService],
        provider: KubernetesProvider,
    ) -> dict[str, NamespaceV1]:
        """Each namespace a service declares, once; sidecars wherever a service
        talks mTLS (the gateway, and every deny-by-default namespace)."""
        declared = [ns for service in services for ns in service.namespaces(config)]
        injected = {ns.name for ns in declared if ns.sidecars or ns.deny_by_default}
        labels: dict[str, dict[str, str]] = {}
        for ns in declared:
            labels.setdefault(ns.name, {}).update(ns.labels)
        return {
            name: NamespaceV1(
                self,
                f"namespace-{name}",
                provider=provider,
                metadata={
                    "name": name,
                    "labels": {
                        "istio-injection": "enabled" if name in injected else "disabled",
                        **labels[name],
                    },
                },
            )
            for name in sorted({ns.name for ns in declared})
        }

    @staticmethod
    def _remaining_steps(
        config: PlatformConfig,
        network: NetworkStack,
        cluster: ClusterStack,
        services: Sequence[PlatformService],
    ) -> str:
        """The last output of `make deploy`: every step left, in order, from the
        same objects that created the secrets and DNS records."""
        steps = [
            f"add the secret {name}: {secret.fill_command}"
            for name, secret in sorted(cluster.platform.secrets.items())
        ]
        steps += [f"create the DNS record {record}" for record in network.dns.records_to_create]
        steps += [step for service in services for step in service.final_steps(config)]
        return (
            "Platform installed. Left to do, in order: "
            + " ".join(
                f"({number}) {step};" for number, step in enumerate(steps, start=1)
            ).removesuffix(";")
            + "."
        )
