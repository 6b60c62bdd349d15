"""Every Application in its lane: each synthesized Application, and hostile
team Applications, judged by the platform's AppProjects with Argo CD's rules.

The judge below ports Argo CD v3.4.4's own checks (pkg/apis/application/
v1alpha1/app_project_types.go and types.go, util/git NormalizeGitURL):
IsSourcePermitted (repo globs, '/' as separator, '!' entries),
isDestinationMatched (glob and '!' per field, exactly its switch),
IsGroupKindNamePermitted (filepath.Match on group/kind/name),
IsAppNamespacePermitted (argocd always; else the project's sourceNamespaces,
and the namespace must be enabled globally by application.namespaces).
Limits: the glob port covers '*', '**' and '?' (gobwas/glob); it refuses
'[...]', '{...}' and escapes rather than guess, so a project using them fails
here loudly. URL normalization skips net/url's re-encoding.
"""

from __future__ import annotations

from typing import Any

import pytest

from platform_config import parse_config
from platform_services.argocd.projects import IN_CLUSTER, app_project
from tests.support.argocd import (
    CONTROL_PLANE,
    TEAM_APPS,
    Platform,
    Resource,
    applications,
    platform_of,
    refusals,
    team_app,
)
from tests.support.synth import Synthesized
from tests.support.variants import VARIANTS, Json, example_data

# --------------------------------------------------------------------------- Argo CD's rules


# ------------------------------------------------------------------- the synthesized platform


ALL = list(VARIANTS)


@pytest.mark.parametrize("variant", ALL)
def test_every_application_is_in_its_lane(synthesized: Synthesized, variant: str) -> None:
    stack = synthesized.stack(variant, "bootstrap")
    platform = platform_of(stack)
    apps = applications(stack)
    teams = set(VARIANTS[variant]().get("teams", {}))
    assert set(platform.projects) == {"platform", "team", *teams}
    roots = {"root": "team", **{f"root-{team}": team for team in teams}}
    for name, (app, app_namespace) in apps.items():
        assert app["project"] == roots.get(name, "platform"), name
        assert app_namespace == CONTROL_PLANE
        assert refusals(app, app_namespace, platform) == [], name


def test_a_team_application_in_its_lane_runs(synthesized: Synthesized) -> None:
    platform = platform_of(synthesized.stack("example", "bootstrap"))
    deploys = [
        Resource(group="apps", kind="Deployment", name="web", namespace="team-ml"),
        Resource(group="", kind="Service", name="web", namespace="team-ml"),
        Resource(group="argoproj.io", kind="Application", name="web", namespace=TEAM_APPS),
    ]
    # Written by root in the team's namespace; the repo in https form is the same repo.
    assert refusals(team_app(), TEAM_APPS, platform, deploys) == []
    https = team_app(source={"repoURL": "https://github.com/example/mlops-gitops"})
    assert refusals(https, TEAM_APPS, platform) == [
        "source https://github.com/example/mlops-gitops not permitted"
    ]  # Argo CD compares URLs after normalization, not hosts: one form only


HOSTILE: list[Any] = [
    pytest.param(team_app(destination={"namespace": "kube-system"}), [], id="kube-system"),
    pytest.param(team_app(destination={"namespace": "argocd"}), [], id="argocd"),
    pytest.param(team_app(destination={"namespace": "istio-system"}), [], id="istio-system"),
    pytest.param(team_app(destination={"namespace": "istio-ingress"}), [], id="istio-ingress"),
    pytest.param(
        team_app(destination={"namespace": "external-secrets"}), [], id="external-secrets"
    ),
    pytest.param(team_app(destination={"namespace": "jupyterhub"}), [], id="jupyterhub"),
    pytest.param(team_app(destination={"namespace": "mlflow"}), [], id="mlflow"),
    pytest.param(team_app(destination={"namespace": "default"}), [], id="default"),
    pytest.param(
        team_app(destination={"namespace": "team-ml", "server": "https://10.0.0.1"}),
        [],
        id="other-cluster",
    ),
    pytest.param(
        team_app(source={"repoURL": "https://github.com/attacker/charts.git"}), [], id="other-repo"
    ),
    pytest.param(
        team_app(source={"repoURL": "git@github.com:example/mlops-gitops-fork.git"}),
        [],
        id="repo-prefix",
    ),
    pytest.param(
        team_app(),
        [Resource(group="rbac.authorization.k8s.io", kind="ClusterRole", name="x", namespace="")],
        id="cluster-role",
    ),
    pytest.param(
        team_app(),
        [
            Resource(
                group="rbac.authorization.k8s.io",
                kind="ClusterRoleBinding",
                name="me-admin",
                namespace="",
            )
        ],
        id="cluster-role-binding",
    ),
    pytest.param(
        team_app(),
        [Resource(group="", kind="Secret", name="x", namespace="argocd")],
        id="object-into-argocd",
    ),
    pytest.param(
        team_app(),
        [Resource(group="argoproj.io", kind="Application", name="x", namespace="argocd")],
        id="application-into-argocd",
    ),
    pytest.param(
        team_app(),
        [Resource(group="", kind="Namespace", name="argocd", namespace="")],
        id="namespace-argocd",
    ),
    pytest.param(
        team_app(),
        [Resource(group="", kind="Namespace", name="kube-system", namespace="")],
        id="namespace-kube-system",
    ),
    pytest.param(team_app(project="platform"), [], id="claims-platform-project"),
    pytest.param(team_app(project="default"), [], id="claims-default-project"),
]


@pytest.mark.parametrize(("app", "deploys"), HOSTILE)
def test_hostile_team_applications_are_refused(
    synthesized: Synthesized, app: Json, deploys: list[Resource]
) -> None:
    """Each is what a team could commit to its repository (root syncs it into
    the team's namespace): one step out of the lane, refused by Argo CD."""
    platform = platform_of(synthesized.stack("example", "bootstrap"))
    problems = refusals(app, TEAM_APPS, platform, deploys)
    if app["project"] == "default":
        # Argo CD's built-in project: not ours, and no sourceNamespaces either.
        assert problems == ["no AppProject 'default'"]
        return
    assert problems, "Argo CD would run it"


def test_the_platform_project_is_unusable_from_the_team_namespace(
    synthesized: Synthesized,
) -> None:
    """An Application in the team's namespace claiming `platform` is refused even
    when everything else about it fits the platform project."""
    stack = synthesized.stack("example", "bootstrap")
    platform = platform_of(stack)
    jupyterhub, _ = applications(stack)["jupyterhub"]
    assert refusals(jupyterhub, TEAM_APPS, platform) == [
        f"project platform not usable from namespace {TEAM_APPS}"
    ]
    # ... and another namespace Argo CD does not read at all (not even the team's project).
    assert refusals(team_app(), "team-ml", platform) == [
        "project team not usable from namespace team-ml"
    ]


def test_no_cluster_resources_for_the_team(synthesized: Synthesized) -> None:
    """No variant gives the team a cluster-scoped kind (gitops.cluster_resources:
    true is refused by the config: tests/services/argocd/test_team_walls.py)."""
    cluster_role = [
        Resource(group="rbac.authorization.k8s.io", kind="ClusterRole", name="x", namespace="")
    ]
    example = platform_of(synthesized.stack("example", "bootstrap"))
    assert not example.projects["team"]["spec"].get("clusterResourceWhitelist")
    assert refusals(team_app(), TEAM_APPS, example, cluster_role)
    hostile = platform_of(synthesized.stack("hostile", "bootstrap"))
    app = team_app(
        source={"repoURL": "ssh://git@git.example.com:2222/team/gitops.git"},
        destination={"namespace": "ml-training"},
    )
    assert refusals(app, "ml-apps", hostile) == []
    assert refusals(app, "ml-apps", hostile, cluster_role) == ["ClusterRole x not permitted"]
    # Its namespaces: ml-training and sandbox, not the default team-ml, not the custom app's.
    for namespace in ("team-ml", "team-app", "argocd"):
        assert refusals(
            team_app(**{**app, "destination": {"namespace": namespace}}), "ml-apps", hostile
        )


def test_negated_destinations_would_widen_an_allow_list(synthesized: Synthesized) -> None:
    """Why the projects carry no '!' entries: in Argo CD an entry '!kube-system'
    matches every other namespace, so adding it to an allow list lets the team
    into `default` (and every namespace not denied)."""
    platform = platform_of(synthesized.stack("example", "bootstrap"))
    team = platform.projects["team"]
    into_default = team_app(destination={"namespace": "default"})
    assert refusals(into_default, TEAM_APPS, platform)
    negated = {
        **team,
        "spec": {
            **team["spec"],
            "destinations": [
                *team["spec"]["destinations"],
                {"server": IN_CLUSTER, "namespace": "!kube-system"},
            ],
        },
    }
    widened = Platform(
        projects={**platform.projects, "team": negated},
        application_namespaces=platform.application_namespaces,
    )
    assert refusals(into_default, TEAM_APPS, widened) == []
    assert refusals(team_app(destination={"namespace": "kube-system"}), TEAM_APPS, widened)


def test_app_project_refuses_deny_entries_and_bare_wildcards() -> None:
    for entry in ("!kube-system", "*"):
        with pytest.raises(ValueError, match="not an allow-list entry"):
            app_project(
                name="team",
                namespace="argocd",
                description="",
                source_repos=["https://example.com/repo.git"],
                destination_namespaces=[entry],
                cluster_resources=False,
            )


# --------------------------------------------------------------------------- the config side


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("namespaces", ["team-ml", "kube-system"], "kube-*"),
        ("namespaces", ["kube-public"], "kube-*"),
        ("namespaces", ["argocd"], "'argocd'"),
        ("namespaces", ["jupyterhub"], "'jupyterhub'"),
        ("namespaces", ["mlflow"], "'mlflow'"),
        ("namespaces", ["istio-ingress"], "'istio-ingress'"),
        ("namespaces", ["default"], "'default'"),
        ("applications_namespace", "argocd", "'argocd'"),
        ("applications_namespace", "mlflow", "'mlflow'"),
    ],
)
def test_config_refuses_team_namespaces_that_reach_the_platform(
    field: str, value: Any, words: str
) -> None:
    from platform_config import ConfigError

    data = example_data()
    data["gitops"][field] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "bad.yaml")
    message = str(caught.value)
    assert f"gitops.{field}" in message and words in message, message


def test_config_refuses_glob_syntax_it_cannot_reason_about() -> None:
    from platform_config import ConfigError

    for glob in ("*", "!kube-system", "team-?", "team-[a-z]", "*-team", "{a,b}"):
        data = example_data()
        data["gitops"]["namespaces"] = [glob]
        with pytest.raises(ConfigError, match=r"gitops\.namespaces"):
            parse_config(data, "bad.yaml")


def test_config_team_namespace_defaults() -> None:

    gitops = parse_config(example_data(), "example.yaml").gitops
    assert gitops.namespaces == ["team-ml"]
    assert gitops.applications_namespace == TEAM_APPS
    assert gitops.cluster_resources is False
