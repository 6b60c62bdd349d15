"""The team lane's walls as Argo CD enforces them: an attacker catalogue of
objects a team's repository could hold, each judged against the SYNTHESIZED
`team` AppProject (the argocd-projects release values) with the port of Argo
CD v3.4.4's project rules in tests/support/argocd.py.

Argo CD refuses a kind before it applies anything (a sync with one refused
object fails as a whole), so these are walls whatever the controller's own
ClusterRole (`*` on every resource, argo-helm argo-cd 10.1.1) could write.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.argocd import (
    TEAM_APPS,
    Resource,
    namespace_name,
    platform_of,
    refusals,
    team_app,
)
from tests.support.stacks import custom_resources, releases, resources
from tests.support.synth import Synthesized
from tests.support.variants import VARIANTS, Json

TEAM_NS = "team-ml"


def _in_team(group: str, kind: str, name: str = "x") -> Resource:
    return Resource(group=group, kind=kind, name=name, namespace=TEAM_NS)


#: What a team's repository could hold to leave its lane (issue 22, "Where it stands").
ATTACKS: list[Any] = [
    # 1 and 3: routing. A VirtualService bound to the shared gateway for Argo CD's
    # host (or for mlflow.mlflow.svc.cluster.local, mesh-wide); Istio and Gateway
    # API kinds of every sort (exportTo: ["*"] is the object's own field).
    pytest.param(_in_team("networking.istio.io", "VirtualService", "argocd-host"), id="vs-argocd"),
    pytest.param(_in_team("networking.istio.io", "Gateway"), id="istio-gateway"),
    pytest.param(_in_team("networking.istio.io", "DestinationRule"), id="destination-rule"),
    pytest.param(_in_team("networking.istio.io", "ServiceEntry"), id="service-entry"),
    pytest.param(_in_team("networking.istio.io", "EnvoyFilter"), id="envoy-filter"),
    pytest.param(_in_team("networking.istio.io", "Sidecar"), id="sidecar"),
    pytest.param(_in_team("security.istio.io", "AuthorizationPolicy"), id="authz-policy"),
    pytest.param(_in_team("security.istio.io", "RequestAuthentication"), id="request-authn"),
    pytest.param(_in_team("security.istio.io", "PeerAuthentication"), id="peer-authn"),
    pytest.param(_in_team("gateway.networking.k8s.io", "Gateway"), id="gateway-api-gateway"),
    pytest.param(_in_team("gateway.networking.k8s.io", "HTTPRoute"), id="httproute"),
    # 4: the platform's Google identity (a store without auth, token generators).
    pytest.param(_in_team("external-secrets.io", "SecretStore", "no-auth"), id="secret-store"),
    pytest.param(_in_team("external-secrets.io", "PushSecret"), id="push-secret"),
    pytest.param(_in_team("generators.external-secrets.io", "Password"), id="password-generator"),
    pytest.param(
        _in_team("generators.external-secrets.io", "GCRAccessToken"), id="gcr-token-generator"
    ),
    pytest.param(
        _in_team("generators.external-secrets.io", "ACRAccessToken"), id="acr-token-generator"
    ),
    # 5: around IAP (GKE Ingress; hand-written endpoints; Services are item 2's admission).
    pytest.param(_in_team("networking.k8s.io", "Ingress"), id="ingress"),
    pytest.param(_in_team("", "Endpoints"), id="endpoints"),
    pytest.param(_in_team("discovery.k8s.io", "EndpointSlice"), id="endpoint-slice"),
    # 2: node root and RBAC (cluster-scoped kinds; bare Pods and DaemonSets).
    pytest.param(
        Resource(
            group="rbac.authorization.k8s.io", kind="ClusterRoleBinding", name="me", namespace=""
        ),
        id="cluster-role-binding",
    ),
    pytest.param(
        Resource(
            group="admissionregistration.k8s.io",
            kind="ValidatingWebhookConfiguration",
            name="x",
            namespace="",
        ),
        id="webhook",
    ),
    pytest.param(_in_team("apps", "DaemonSet"), id="daemonset"),
    pytest.param(_in_team("", "Pod"), id="bare-pod"),
    pytest.param(_in_team("", "ResourceQuota"), id="own-quota"),
    pytest.param(_in_team("", "LimitRange"), id="own-limits"),
    # 2: a Namespace of the team's own, or its own namespace with its own labels
    # (pod-security...: privileged; also what managedNamespaceMetadata writes).
    pytest.param(
        Resource(group="", kind="Namespace", name=TEAM_NS, namespace=""), id="relabel-namespace"
    ),
    pytest.param(
        Resource(group="", kind="Namespace", name="team-privileged", namespace=""),
        id="own-namespace",
    ),
]

#: An ordinary team app: accepted.
LEGITIMATE = [
    _in_team("apps", "Deployment", "web"),
    _in_team("", "Service", "web"),
    _in_team("", "ConfigMap", "web"),
    _in_team("external-secrets.io", "ExternalSecret", "web"),
    _in_team("", "ServiceAccount", "web"),
    _in_team("autoscaling", "HorizontalPodAutoscaler", "web"),
    _in_team("policy", "PodDisruptionBudget", "web"),
    _in_team("networking.k8s.io", "NetworkPolicy", "web"),
    _in_team("rbac.authorization.k8s.io", "RoleBinding", "web"),
    _in_team("batch", "CronJob", "nightly"),
    Resource(group="argoproj.io", kind="Application", name="web", namespace=TEAM_APPS),
]


def _team_platform(synthesized: Synthesized, variant: str = "example") -> Any:
    return platform_of(synthesized.stack(variant, "bootstrap"))


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attacker_catalogue_is_refused_by_argo_cd(
    synthesized: Synthesized, attack: Resource
) -> None:
    platform = _team_platform(synthesized)
    problems = refusals(team_app(), TEAM_APPS, platform, [*LEGITIMATE, attack])
    assert problems == [f"{attack.kind} {attack.name} not permitted"]


def test_a_legitimate_team_app_is_accepted(synthesized: Synthesized) -> None:
    assert refusals(team_app(), TEAM_APPS, _team_platform(synthesized), LEGITIMATE) == []


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_synthesized_team_project_has_a_namespaced_allow_list(
    synthesized: Synthesized, variant: str
) -> None:
    """On the synthesized object: a missing or empty namespaceResourceWhitelist
    (an empty list is dropped by omitempty on Argo CD's side, types.go:2793)
    means every namespaced kind; no glob entries; nothing cluster-scoped."""
    team: Json = _team_platform(synthesized, variant).projects["team"]["spec"]
    allowed = team.get("namespaceResourceWhitelist")
    assert allowed, "no allow list: Argo CD admits every namespaced kind"
    for entry in allowed:
        assert set(entry) == {"group", "kind"}, entry
        assert not any(c in entry["group"] + entry["kind"] for c in "*?[\\"), entry
    groups = {entry["group"] for entry in allowed}
    assert not any(g.endswith(("istio.io", "gateway.networking.k8s.io")) for g in groups)
    assert "generators.external-secrets.io" not in groups
    assert {"kind": "SecretStore", "group": "external-secrets.io"} not in allowed
    assert not team.get("clusterResourceWhitelist"), "the team gets no cluster-scoped kind"


def test_the_config_refuses_cluster_resources_with_a_migration_message() -> None:
    from platform_config import ConfigError, parse_config
    from tests.support.variants import example_data

    data = example_data()
    data["gitops"]["cluster_resources"] = True
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "old.yaml")
    message = str(caught.value)
    assert "gitops.cluster_resources" in message and "no longer supported" in message, message
    data["gitops"]["cluster_resources"] = False  # an old config saying false still loads
    assert parse_config(data, "old.yaml").gitops.cluster_resources is False


def test_an_empty_allow_list_is_refused_when_built() -> None:
    from platform_services.argocd.projects import app_project

    with pytest.raises(ValueError, match="empty namespaced allow list"):
        app_project(
            name="team",
            namespace="argocd",
            description="",
            source_repos=["https://example.com/repo.git"],
            destination_namespaces=["team-ml"],
            cluster_resources=False,
            namespaced_kinds=[],
        )


# ------------------------------------------------------------ namespaces the platform owns


def _namespaces(stack: Json) -> dict[str, Json]:
    return {
        ns["metadata"]["name"]: ns["metadata"]
        for ns in resources(stack, "kubernetes_namespace_v1").values()
    }


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_platform_creates_every_team_namespace_restricted_and_out_of_the_mesh(
    synthesized: Synthesized, variant: str
) -> None:
    """Every destination of the team project is a namespace Terraform creates
    with Pod Security `restricted` (enforced), the platform's tenant label and no
    sidecar injection (istio-init needs NET_ADMIN/NET_RAW, which restricted
    refuses). Labels are checked on the synthesized kubernetes_namespace_v1."""
    stack = synthesized.stack(variant, "bootstrap")
    projects = platform_of(stack).projects
    namespaces = _namespaces(stack)
    every_destination: set[str] = set()
    for tenant, project in projects.items():
        if tenant == "platform":
            continue
        destinations = [d["namespace"] for d in project["spec"]["destinations"]]
        assert destinations and all("*" not in d for d in destinations)
        for name in destinations:
            assert name in namespaces, f"{name}: the platform does not create it"
            labels = namespaces[name]["labels"]
            assert labels["pod-security.kubernetes.io/enforce"] == "restricted", name
            assert "pod-security.kubernetes.io/enforce-version" not in labels
            assert labels["mlops-platform/tenant"] == tenant, name
            assert labels["istio-injection"] == "disabled", name
        every_destination.update(destinations)
    tenants = {n for n, meta in namespaces.items() if "mlops-platform/tenant" in meta["labels"]}
    assert tenants == every_destination, "the tenant label marks exactly the teams' namespaces"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_team_namespace_denies_by_default_and_reaches_dns(
    synthesized: Synthesized, variant: str
) -> None:
    stack = synthesized.stack(variant, "bootstrap")
    team = platform_of(stack).projects["team"]["spec"]
    policies: dict[str, list[Json]] = {}
    for release in releases(stack).values():
        for obj in custom_resources(release):
            if obj["kind"] == "NetworkPolicy":
                namespace = namespace_name(stack, obj["metadata"]["namespace"])
                policies.setdefault(namespace, []).append(obj["spec"])
    for destination in team["destinations"]:
        specs = policies.get(destination["namespace"], [])
        assert {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]} in specs
        # The only other platform policy there: egress to kube-dns on port 53.
        (dns,) = [s for s in specs if s.get("egress")]
        assert dns["podSelector"] == {} and dns["policyTypes"] == ["Egress"]
        (rule,) = dns["egress"]
        assert rule["to"] == [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                },
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ]
        assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}
        assert not any(s.get("ingress") for s in specs), "no ingress opened by the platform"


@pytest.mark.parametrize("patterns", [["team-*"], ["team-ml", "ml-*"]])
def test_old_namespace_patterns_get_a_migration_message(patterns: list[str]) -> None:
    from platform_config import ConfigError, parse_config
    from tests.support.variants import example_data

    data = example_data()
    data["gitops"]["namespaces"] = patterns
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "old.yaml")
    message = str(caught.value)
    assert "gitops.namespaces" in message and "is a pattern" in message, message
    assert "creates each team namespace" in message
