"""PlatformService: one platform service, everything it needs declared in one place.

In the style of an EKS Blueprints add-on. A service is a plain class; the
stacks call its hooks in registry order (platform_services/registry.py) and
create nothing service-specific themselves:

- declarations, pure functions of the config: its namespaces, the Secret
  Manager secrets it reads and the objects External Secrets writes for it, its
  rows of the reachability table (Istio ALLOW policies and NetworkPolicies),
  its hosts and routes, what the platform AppProject must allow for it, the
  GitOps facts it publishes and the steps left to the operator;
- `provision`, in the cluster stack: its Google identity, storage and secrets;
- `install`, in the bootstrap stack: its Helm releases and Applications.

Every hook has a default that contributes nothing, so a service overrides only
what it has. Constructs are created in the stack's own scope with the ids they
always had, so moving code into a service changes no Terraform address.

Services share what they create through the contexts below: a service
`provide`s a named stage (a release others must wait for) and later services
ask for it `after(...)`. Asking for a stage no earlier service provided is an
error naming both, so a wrong registry order fails at synth, not at deploy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_helm.provider import HelmProvider
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider

from platform_builders.workloads import Workload
from platform_config import AppConfig, PlatformConfig
from platform_constructs.argo_app import ArgoApp, ArgoAppProps, HelmChartSource
from platform_constructs.helm_chart_release import HelmChartRelease, HelmChartReleaseProps
from platform_constructs.iap_ingress import RouteTarget
from platform_constructs.managed_secret import ManagedSecret
from platform_constructs.private_gke_cluster import PrivateGkeCluster
from platform_services.argocd.cluster_facts import fact_key
from platform_services.argocd.projects import PLATFORM_PROJECT
from platform_services.argocd.workloads import ARGOCD_NAMESPACE
from platform_services.istio import mesh

if TYPE_CHECKING:
    from stacks.base import PlatformStack
    from stacks.network import NetworkStack

Manifest = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Namespace:
    """A namespace a service runs in; the bootstrap stack creates each once."""

    name: str
    sidecars: bool = False
    """Istio injects sidecars (istio-injection=enabled)."""
    deny_by_default: bool = False
    """Mesh mTLS STRICT and an allow-nothing policy: only the service's own
    ALLOW rows admit callers (implies sidecars)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Further labels only the platform sets (a team's namespace: Pod Security,
    its tenant label; platform_services/argocd/tenancy.py)."""


#: Stages a service may provide for later ones (install order in the stack docstring).
Stage = str


class _Stages:
    """Named dependables handed from earlier services to later ones."""

    def __init__(self) -> None:
        self._stages: dict[Stage, list[ITerraformDependable]] = {}
        self._providers: dict[Stage, str] = {}

    def provide(self, service: str, stage: Stage, *dependables: ITerraformDependable) -> None:
        if stage in self._stages:
            raise ValueError(
                f"service {service}: stage {stage!r} is already provided by "
                f"{self._providers[stage]}"
            )
        self._stages[stage] = list(dependables)
        self._providers[stage] = service

    def after(self, service: str, *stages: Stage) -> list[ITerraformDependable]:
        found: list[ITerraformDependable] = []
        for stage in stages:
            if stage not in self._stages:
                raise ValueError(
                    f"service {service} installs after stage {stage!r}, which no earlier "
                    "service provides: check the order in platform_services/registry.py"
                )
            found += self._stages[stage]
        return found


@dataclass(kw_only=True)
class ClusterContext:
    """What services share in the cluster stack."""

    config: PlatformConfig
    network: NetworkStack
    gke: PrivateGkeCluster
    secret_readers: dict[str, str] = field(default_factory=dict)
    """IAM members that may read the platform's Secret Manager secrets, by name
    (External Secrets' identity); per-secret IAM, never project-wide."""
    secrets: dict[str, ManagedSecret] = field(default_factory=dict)
    """Secret Manager secrets whose values the operator adds, by key."""


@dataclass(kw_only=True)
class BootstrapContext:
    """What services share in the bootstrap stack."""

    config: PlatformConfig
    network: NetworkStack
    cluster: ClusterContext
    helm: HelmProvider
    kubernetes: KubernetesProvider
    namespaces: Mapping[str, NamespaceV1]
    services: Sequence[PlatformService]
    stages: _Stages = field(default_factory=_Stages)

    def namespace(self, name: str) -> str:
        """A reference to a namespace the stack created: objects written into
        it depend on it (created after it, destroyed before it)."""
        reference: str = self.namespaces[name].metadata.name
        return reference

    @property
    def namespace_references(self) -> dict[str, str]:
        return {name: self.namespace(name) for name in self.namespaces}

    def collect(self, hook: str, argument: object) -> list[Any]:
        """Every service's contribution to a shared list, in registry order."""
        found: list[Any] = []
        for service in self.services:
            found += getattr(service, hook)(argument)
        return found


class PlatformService:
    """Base of every platform service; each hook's default contributes nothing."""

    #: The service's name (its package under platform_services/).
    name: ClassVar[str]

    def enabled(self, config: PlatformConfig) -> bool:
        return True

    # ---- declarations (pure functions of the config and what earlier stacks made)
    def namespaces(self, config: PlatformConfig) -> Sequence[Namespace]:
        return ()

    def secret_store_namespaces(self, config: PlatformConfig) -> Sequence[str]:
        """Namespaces whose ExternalSecrets may read the platform's Secret Manager."""
        return ()

    def secret_objects(self, ctx: BootstrapContext) -> Sequence[Manifest]:
        """External Secrets objects (ExternalSecrets, generators) for this service."""
        return ()

    def mesh_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        """Its rows of the reachability table: Istio ALLOW policies."""
        return ()

    def network_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        """NetworkPolicies enforced below the mesh (Dataplane V2)."""
        return ()

    def routes(self, config: PlatformConfig) -> Mapping[str, RouteTarget]:
        """Hosts behind the IAP door, each to one Service."""
        return {}

    def platform_project_sources(self, config: PlatformConfig) -> Sequence[str]:
        """Chart repositories the platform AppProject must allow for this service."""
        return ()

    def platform_project_destinations(self, config: PlatformConfig) -> Sequence[str]:
        """Namespaces the platform AppProject must allow for this service."""
        return ()

    def facts(self, config: PlatformConfig) -> Mapping[str, str]:
        """GitOps facts (README: GitOps facts) this service publishes."""
        return {}

    def final_steps(self, config: PlatformConfig) -> Sequence[str]:
        """What the operator does last, after secrets and DNS (bootstrap next_step)."""
        return ()

    # ---- constructs
    def provision(self, stack: PlatformStack, ctx: ClusterContext) -> None:
        """Cluster stack: Google identity, storage, Secret Manager secrets."""

    def install(self, stack: PlatformStack, ctx: BootstrapContext) -> None:
        """Bootstrap stack: Helm releases, Applications, Kubernetes objects."""

    # ---- helpers for subclasses
    def release(
        self, stack: PlatformStack, id_: str, props: HelmChartReleaseProps
    ) -> HelmChartRelease:
        return HelmChartRelease(stack, id_, props=props)


class ChartAppService(PlatformService):
    """A Helm chart that Argo CD runs behind the IAP door (apps.<name>)."""

    def applications(self, config: PlatformConfig) -> Mapping[str, AppConfig]:
        """The enabled apps this service runs, by app name."""
        raise NotImplementedError

    def values(self, config: PlatformConfig, name: str, app: AppConfig) -> dict[str, object]:
        """The app's full Helm values."""
        raise NotImplementedError

    def application_dependencies(
        self, ctx: BootstrapContext, name: str
    ) -> Sequence[ITerraformDependable]:
        """What the Application waits for besides Argo CD and its namespace."""
        return ()

    def ignore_differences(self, name: str) -> Sequence[Mapping[str, Any]]:
        return ()

    def enabled(self, config: PlatformConfig) -> bool:
        return bool(self.applications(config))

    def namespaces(self, config: PlatformConfig) -> Sequence[Namespace]:
        return [
            Namespace(name=config.app_namespaces[name], sidecars=True, deny_by_default=True)
            for name in self.applications(config)
        ]

    def routes(self, config: PlatformConfig) -> Mapping[str, RouteTarget]:
        return {
            config.app_hosts[name]: RouteTarget(
                service=app.service, namespace=config.app_namespaces[name], port=app.service_port
            )
            for name, app in self.applications(config).items()
        }

    def platform_project_sources(self, config: PlatformConfig) -> Sequence[str]:
        return [app.chart_repo for app in self.applications(config).values()]

    def platform_project_destinations(self, config: PlatformConfig) -> Sequence[str]:
        return [config.app_namespaces[name] for name in self.applications(config)]

    def facts(self, config: PlatformConfig) -> Mapping[str, str]:
        facts: dict[str, str] = {}
        for name in self.applications(config):
            facts[fact_key("host", name)] = config.app_hosts[name]
            facts[fact_key("namespace", name)] = config.app_namespaces[name]
        return facts

    def install(self, stack: PlatformStack, ctx: BootstrapContext) -> None:
        for name, app in self.applications(ctx.config).items():
            namespace = ctx.config.app_namespaces[name]
            ArgoApp(
                stack,
                f"app-{name}",
                props=ArgoAppProps(
                    name=name,
                    destination_namespace=ctx.namespace(namespace),
                    source=HelmChartSource(
                        repo_url=app.chart_repo,
                        chart=app.chart,
                        version=app.chart_version,
                        values=self.values(ctx.config, name, app),
                    ),
                    argocd_namespace=ctx.namespace(ARGOCD_NAMESPACE),
                    provider=ctx.helm,
                    depends_on=[
                        *ctx.stages.after(self.name, "argocd-ready"),
                        ctx.namespaces[namespace],
                        *self.application_dependencies(ctx, name),
                    ],
                    project=PLATFORM_PROJECT,
                    ignore_differences=tuple(self.ignore_differences(name)),
                ),
            )


def allow(
    target: Workload, *callers: mesh.Caller, ports: Sequence[int] = (), name: str = ""
) -> Manifest:
    """An Istio ALLOW policy on `target` naming its callers (one reachability row)."""
    return mesh.allow(
        name=name or f"{target.name}-callers",
        namespace=target.namespace,
        selector=target.selector,
        ports=ports or target.ports,
        callers=callers,
    )


def by(*workloads: Workload, paths: Sequence[str] = ()) -> mesh.Caller:
    """Callers: these workloads' mesh identities (optionally on these paths only)."""
    return mesh.Caller(principals=[w.principal for w in workloads], paths=paths)


def pods_of(workload: Workload) -> dict[str, Any]:
    """A NetworkPolicy peer: the workload's pods in its namespace."""
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": workload.namespace}},
        "podSelector": {"matchLabels": dict(workload.selector)},
    }
