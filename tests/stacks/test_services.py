"""A service added through the registry alone: no stack is edited.

DemoService declares a namespace, a route, a mesh ALLOW row, a GitOps fact and
an Argo CD Application; building the app with the built-in services plus it
must put each of those where the platform's own services' go. A service that
waits for a stage no earlier service provides fails at synth, naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from platform_builders.charts import ChartRef
from platform_builders.workloads import Workload
from platform_config import PlatformConfig, parse_config
from tests.support.synth import Synthesized
from tests.support.variants import VARIANTS, Json, example_data

if TYPE_CHECKING:
    from platform_constructs.iap_ingress import RouteTarget
    from platform_services.service import BootstrapContext, Namespace, PlatformService
    from stacks.base import PlatformStack

DEMO_CHART = ChartRef(
    repository="https://charts.example.com", chart="demo", version="1.2.3", values_file=None
)
DEMO = Workload(
    name="demo", namespace="demo", selector={"app": "demo"}, service_account="demo", ports=(8080,)
)


def demo_service() -> PlatformService:
    from platform_constructs.argo_app import ArgoApp, ArgoAppProps, HelmChartSource
    from platform_constructs.iap_ingress import RouteTarget
    from platform_services.argocd.projects import PLATFORM_PROJECT
    from platform_services.istio.workloads import GATEWAY
    from platform_services.service import Namespace, PlatformService, allow, by

    class DemoService(PlatformService):
        name = "demo"

        def namespaces(self, config: PlatformConfig) -> Sequence[Namespace]:
            return [Namespace(name="demo", sidecars=True, deny_by_default=True)]

        def routes(self, config: PlatformConfig) -> Mapping[str, RouteTarget]:
            return {f"demo.{config.domain}": RouteTarget(service="demo", namespace="demo", port=80)}

        def mesh_policies(self, config: PlatformConfig) -> Sequence[dict[str, Any]]:
            return [allow(DEMO, by(GATEWAY))]

        def platform_project_sources(self, config: PlatformConfig) -> Sequence[str]:
            return [DEMO_CHART.repository]

        def platform_project_destinations(self, config: PlatformConfig) -> Sequence[str]:
            return ["demo"]

        def facts(self, config: PlatformConfig) -> Mapping[str, str]:
            return {"demo_host": f"demo.{config.domain}"}

        def install(self, stack: PlatformStack, ctx: BootstrapContext) -> None:
            ArgoApp(
                stack,
                "app-demo",
                props=ArgoAppProps(
                    name="demo",
                    destination_namespace=ctx.namespace("demo"),
                    source=HelmChartSource(
                        repo_url=DEMO_CHART.repository,
                        chart=DEMO_CHART.chart,
                        version=DEMO_CHART.version,
                    ),
                    argocd_namespace=ctx.namespace("argocd"),
                    provider=ctx.helm,
                    depends_on=ctx.stages.after(self.name, "argocd-ready"),
                    project=PLATFORM_PROJECT,
                ),
            )

    return DemoService()


def _synth(services: list[PlatformService], outdir: Path) -> Json:
    from main import build_app

    app = build_app(parse_config(example_data()), outdir=str(outdir), services=services)
    app.synth()  # type: ignore[attr-defined]
    data = json.loads((outdir / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
    assert isinstance(data, dict)
    return data


def _releases(stack: Json, prefix: str) -> list[Json]:
    """helm_release resources whose construct path starts with `prefix`."""
    found = [r for key, r in stack["resource"]["helm_release"].items() if key.startswith(prefix)]
    assert found, f"no helm_release {prefix}*"
    return found


def _manifests(stack: Json, prefix: str) -> list[Json]:
    """The objects of a ManifestBundle release, namespace references as written."""
    (release,) = _releases(stack, prefix + "_release")
    manifests: list[Json] = yaml.safe_load(release["values"][0])["manifests"]
    return manifests


@pytest.fixture(scope="module")
def with_demo(tmp_path_factory: pytest.TempPathFactory) -> Json:
    from platform_services.registry import built_in_services

    return _synth([*built_in_services(), demo_service()], tmp_path_factory.mktemp("demo"))


def test_the_extra_service_gets_a_namespace_in_the_mesh(with_demo: Json) -> None:
    namespace = with_demo["resource"]["kubernetes_namespace_v1"]["namespace-demo"]
    assert namespace["metadata"] == {"name": "demo", "labels": {"istio-injection": "enabled"}}


def test_the_extra_service_is_deny_by_default_with_its_own_allow_row(with_demo: Json) -> None:
    demo_ns = "${kubernetes_namespace_v1.namespace-demo.metadata[0].name}"
    in_demo = [
        (o["kind"], o["metadata"]["name"], o["spec"])
        for o in _manifests(with_demo, "mesh-policies")
        if o["metadata"]["namespace"] == demo_ns
    ]
    kinds = [(kind, name) for kind, name, _ in in_demo]
    assert kinds == [
        ("PeerAuthentication", "default"),
        ("AuthorizationPolicy", "allow-nothing"),
        ("AuthorizationPolicy", "demo-callers"),
    ], kinds
    callers = in_demo[2][2]["rules"][0]["from"][0]["source"]["principals"]
    assert callers == ["cluster.local/ns/istio-ingress/sa/istio-gateway"]


def test_the_extra_service_is_routed_under_the_wildcard(with_demo: Json) -> None:
    routing = json.dumps(_releases(with_demo, "iap-ingress_routing"))
    assert "demo.mlops.example.com" in routing
    assert "demo.demo.svc.cluster.local" in routing
    # *.<domain> (network stack) covers it: no certificate of its own.
    assert not [k for k in with_demo["resource"] if "certificate" in k]


def test_the_extra_service_runs_in_the_platform_project(with_demo: Json) -> None:
    platform = _manifests(with_demo, "argocd-projects")[0]
    assert DEMO_CHART.repository in platform["spec"]["sourceRepos"]
    assert "demo" in [d["namespace"] for d in platform["spec"]["destinations"]]
    (app,) = _releases(with_demo, "app-demo")
    assert any("argo-cd_release" in dependency for dependency in app["depends_on"])


def test_the_extra_service_publishes_its_fact(with_demo: Json) -> None:
    registration = with_demo["resource"]["kubernetes_secret_v1"]["argocd-cluster-in-cluster"]
    assert registration["metadata"]["annotations"]["demo_host"] == "demo.mlops.example.com"


def test_a_service_before_the_stage_it_needs_fails_at_synth(tmp_path: Path) -> None:
    from platform_services.registry import built_in_services

    services = built_in_services()
    services.insert(0, demo_service())  # before Argo CD, whose readiness it waits for
    with pytest.raises(ValueError, match=r"service demo installs after stage 'argocd-ready'"):
        _synth(services, tmp_path)


def test_the_namespaces_services_own_are_the_reserved_ones(synthesized: Synthesized) -> None:
    """One source: the namespaces the stacks create for the services (apart from
    the config's own) are exactly those the config reserves for the platform."""
    from platform_config.reserved import RESERVED_NAMESPACES
    from platform_services.registry import fixed_namespaces

    for variant in ("example", "bastion"):
        stack = synthesized.stack(variant, "bootstrap")
        created = {
            ns["metadata"]["name"] for ns in stack["resource"]["kubernetes_namespace_v1"].values()
        }
        data = VARIANTS[variant]()
        config = parse_config(data)
        from_config = {
            *config.app_namespaces.values(),
            config.gitops.applications_namespace,
            *config.gitops.namespaces,
        }
        assert created - from_config == fixed_namespaces(), variant
    assert {"default"} | fixed_namespaces() == RESERVED_NAMESPACES
