"""Two teams side by side (the example-plus-app variant, `teams:`): each in an
AppProject of its own, judged on the synthesized objects with the port of
Argo CD's project rules (tests/support/argocd.py) and Argo CD's RBAC in casbin
(tests/support/argocd_rbac.py)."""

from __future__ import annotations

from typing import Any

import pytest

from platform_config import ConfigError, parse_config
from platform_services.argocd.projects import IN_CLUSTER, TEAM_NAMESPACED_KINDS
from tests.support.argocd import (
    Resource,
    applications,
    namespace_name,
    platform_of,
    refusals,
)
from tests.support.argocd_rbac import ArgoCdRbac
from tests.support.stacks import (
    custom_resources,
    dependency_graph,
    releases,
    resources,
    transitive,
    values_of,
)
from tests.support.synth import Synthesized
from tests.support.variants import TEAMS, Json, example_data

VARIANT = "example-plus-app"
VISION_REPO = TEAMS["vision"]["repo_url"]
NLP_REPO = TEAMS["nlp"]["repo_url"]


def _stack(synthesized: Synthesized) -> Json:
    return synthesized.stack(VARIANT, "bootstrap")


def app(project: str, repo: str, namespace: str, **source: Any) -> Json:
    return {
        "project": project,
        "source": {"repoURL": repo, "path": "web", "targetRevision": "main", **source},
        "destination": {"server": IN_CLUSTER, "namespace": namespace},
    }


def test_each_team_ships_in_its_own_lane(synthesized: Synthesized) -> None:
    platform = platform_of(_stack(synthesized))
    web = [
        Resource(group="apps", kind="Deployment", name="web", namespace="vision-dev"),
        Resource(group="", kind="Service", name="web", namespace="vision-dev"),
        Resource(
            group="external-secrets.io", kind="ExternalSecret", name="w", namespace="vision-dev"
        ),
    ]
    assert refusals(app("vision", VISION_REPO, "vision-dev"), "vision-apps", platform, web) == []
    assert refusals(app("nlp", NLP_REPO, "nlp"), "nlp-apps", platform) == []
    # An allowed chart repository (vision's only).
    chart = app("vision", "https://charts.bitnami.com/bitnami", "vision-prod", chart="nginx")
    assert refusals(chart, "vision-apps", platform) == []
    assert refusals(
        {**chart, "project": "nlp", "destination": {"server": IN_CLUSTER, "namespace": "nlp"}},
        "nlp-apps",
        platform,
    )


CROSSINGS: list[Any] = [
    pytest.param(app("vision", VISION_REPO, "nlp"), "vision-apps", id="into-other-team-namespace"),
    pytest.param(app("nlp", NLP_REPO, "nlp"), "vision-apps", id="other-team-project"),
    pytest.param(app("vision", NLP_REPO, "vision-dev"), "vision-apps", id="other-team-repo"),
    pytest.param(app("vision", VISION_REPO, "team-ml"), "vision-apps", id="into-gitops-lane"),
    pytest.param(app("team", VISION_REPO, "team-ml"), "vision-apps", id="gitops-lane-project"),
    pytest.param(app("platform", VISION_REPO, "vision-dev"), "vision-apps", id="platform-project"),
    pytest.param(app("vision", VISION_REPO, "vision-dev"), "team-apps", id="from-gitops-lane-apps"),
    pytest.param(app("vision", VISION_REPO, "argocd"), "vision-apps", id="into-argocd"),
]


@pytest.mark.parametrize(("application", "app_namespace"), CROSSINGS)
def test_no_team_reaches_another_lane(
    synthesized: Synthesized, application: Json, app_namespace: str
) -> None:
    assert refusals(application, app_namespace, platform_of(_stack(synthesized)))


def test_team_projects_carry_the_walls(synthesized: Synthesized) -> None:
    platform = platform_of(_stack(synthesized))
    allowed = [{"group": g, "kind": k} for g, k in TEAM_NAMESPACED_KINDS]
    for name, team in TEAMS.items():
        spec = platform.projects[name]["spec"]
        assert spec["namespaceResourceWhitelist"] == allowed
        assert not spec.get("clusterResourceWhitelist")
        assert spec["sourceRepos"] == [team["repo_url"], *team.get("chart_repositories", [])]
        assert [d["namespace"] for d in spec["destinations"]] == [
            f"{name}-apps",
            *team["namespaces"],
        ]
        assert spec["sourceNamespaces"] == [f"{name}-apps"]
    assert {"vision-apps", "nlp-apps", "team-apps"} <= platform.application_namespaces


def test_each_team_namespace_has_its_quota_and_limits(synthesized: Synthesized) -> None:
    stack = _stack(synthesized)
    objects = custom_resources(releases(stack)["team-quotas"])
    found = {
        (obj["kind"], namespace_name(stack, obj["metadata"]["namespace"])): obj["spec"]
        for obj in objects
    }
    for name, team in TEAMS.items():
        quota = {"cpu": "4", "memory": "16Gi", "pods": 50, **team.get("quota", {})}
        for namespace in [f"{name}-apps", *team["namespaces"]]:
            hard = found[("ResourceQuota", namespace)]["hard"]
            assert hard["limits.cpu"] == hard["requests.cpu"] == quota["cpu"]
            assert hard["limits.memory"] == quota["memory"] and hard["pods"] == str(quota["pods"])
            assert hard["services.loadbalancers"] == hard["services.nodeports"] == "0"
            assert found[("LimitRange", namespace)]["limits"][0]["type"] == "Container"
    assert len(found) == 2 * (2 + 3)


def test_each_team_has_its_root_application_after_admission(synthesized: Synthesized) -> None:
    stack = _stack(synthesized)
    apps = applications(stack)
    closure = transitive(dependency_graph(stack))
    address = {
        body["name"]: f"helm_release.{key}"
        for key, body in resources(stack, "helm_release").items()
    }
    for name, team in TEAMS.items():
        root, root_namespace = apps[f"root-{name}"]
        assert root_namespace == "argocd" and root["project"] == name
        assert root["destination"]["namespace"] == f"{name}-apps"
        assert root["source"]["repoURL"] == team["repo_url"]
        assert root["source"]["targetRevision"] == team.get("revision", "main")
        assert root["source"]["path"] == team.get("path", "apps")
        release = next(a for n, a in address.items() if n.startswith(f"app-root-{name}"))
        for prerequisite in ("tenant-admission", "team-quotas", "argocd-projects"):
            assert address[prerequisite] in closure[release], (name, prerequisite)


def test_members_sync_their_own_team_only(synthesized: Synthesized) -> None:
    rbac = ArgoCdRbac(values_of(releases(_stack(synthesized))["argo-cd"])["configs"]["rbac"])

    def claims(email: str) -> Json:
        return {"sub": "x", "email": email, "federated_claims": {"user_id": email}}

    ana, cy = claims("ana@example.com"), claims("cy@example.com")
    # Applications in any namespace: the RBAC object is <project>/<namespace>/<name>.
    assert rbac.allows(ana, "applications", "sync", "vision/vision-apps/web")
    assert not rbac.allows(ana, "applications", "sync", "nlp/nlp-apps/api")
    assert not rbac.allows(ana, "applications", "sync", "platform/jupyterhub")
    assert not rbac.allows(ana, "applications", "delete", "vision/vision-apps/web")
    assert rbac.allows(cy, "applications", "sync", "nlp/nlp-apps/api")
    assert not rbac.allows(cy, "applications", "sync", "vision/vision-apps/web")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"namespaces": ["argocd"]}, "belongs to Kubernetes or the platform"),
        ({"namespaces": ["team-ml"]}, "already belongs to the gitops lane"),
        ({"namespaces": ["nlp"]}, "already belongs to team nlp"),
        ({"repo_url": "git@github.com:example/vision.git"}, "public https:// URL"),
    ],
)
def test_config_keeps_teams_apart(change: Json, words: str) -> None:
    data = example_data()
    data["teams"] = {"nlp": TEAMS["nlp"], "vision": {**TEAMS["vision"], **change}}
    with pytest.raises(ConfigError, match=words):
        parse_config(data, "teams.yaml")


def test_team_names_are_not_platform_projects() -> None:
    data = example_data()
    data["teams"] = {"platform": TEAMS["nlp"]}
    with pytest.raises(ConfigError, match="AppProject of the platform"):
        parse_config(data, "teams.yaml")
