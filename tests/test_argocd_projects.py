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

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

import pytest

from platform_config import parse_config
from platform_services.argocd.projects import IN_CLUSTER, app_project
from tests.conftest import VARIANTS, Json, Synthesized, resources
from tests.test_bootstrap import releases, values_of

CONTROL_PLANE = "argocd"
IN_CLUSTER_NAME = "in-cluster"


# --------------------------------------------------------------------------- Argo CD's rules


def gobwas_match(pattern: str, value: str, separators: str = "") -> bool:
    """github.com/gobwas/glob Match for '*', '**', '?' and literals."""
    if re.search(r"[\[\]{}\\]", pattern):
        raise NotImplementedError(f"glob syntax this port does not model: {pattern!r}")
    not_sep = f"[^{re.escape(separators)}]" if separators else "."
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + f"{not_sep}*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + not_sep, i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.fullmatch(regex, value, re.DOTALL) is not None


def glob_match(pattern: str, value: str, allow_negation: bool, separators: str = "") -> bool:
    if allow_negation and pattern.startswith("!"):
        return not gobwas_match(pattern[1:], value, separators)
    if pattern == "*":
        return True
    return gobwas_match(pattern, value, separators)


SSH_URL = re.compile(r"^(ssh://)?([^/:]*?)@[^@]+$")


def normalize_git_url(repo: str) -> str:
    repo = repo.strip().lower()
    if SSH_URL.match(repo) and not repo.startswith("ssh://"):
        repo = "ssh://" + repo.replace(":", "/", 1)
    return repo.removesuffix(".git").removeprefix("ssh://")


def source_permitted(project: Json, repo_url: str) -> bool:
    source = normalize_git_url(repo_url)
    any_matched = False
    for entry in project["spec"]["sourceRepos"]:
        normalized = (
            "!" + normalize_git_url(entry[1:])
            if entry.startswith("!")
            else normalize_git_url(entry)
        )
        matched = glob_match(normalized, source, True, "/")
        if matched:
            any_matched = True
        elif normalized.startswith("!"):
            return False
    return any_matched


def destination_permitted(project: Json, server: str, name: str, namespace: str) -> bool:
    any_matched = False
    for item in project["spec"]["destinations"]:
        item_name, item_server = item.get("name", ""), item.get("server", "")
        item_namespace = item.get("namespace", "")
        name_matched = name != "" and glob_match(item_name, name, True)
        server_matched = server != "" and glob_match(item_server, server, True)
        namespace_matched = glob_match(item_namespace, namespace, True)
        if (server_matched or name_matched) and namespace_matched:
            any_matched = True
        # Argo CD's two deny cases, kept apart as in its switch statement.
        elif (not name_matched and item_name.startswith("!")) or (  # noqa: SIM114
            not server_matched and item_server.startswith("!") and namespace_matched
        ):
            return False
        elif not namespace_matched and item_namespace.startswith("!") and server_matched:
            return False
    return any_matched


def kind_permitted(project: Json, group: str, kind: str, name: str, namespaced: bool) -> bool:
    spec = project["spec"]
    if namespaced:
        allow = spec.get("namespaceResourceWhitelist")
        deny = spec.get("namespaceResourceBlacklist") or []
        listed = allow is None or any(
            fnmatch.fnmatchcase(kind, i["kind"]) and fnmatch.fnmatchcase(group, i["group"])
            for i in allow
        )
        denied = any(
            fnmatch.fnmatchcase(kind, i["kind"]) and fnmatch.fnmatchcase(group, i["group"])
            for i in deny
        )
        return listed and not denied

    def named_in(items: list[Json]) -> bool:
        return any(
            fnmatch.fnmatchcase(kind, i["kind"])
            and fnmatch.fnmatchcase(group, i["group"])
            and (not i.get("name") or fnmatch.fnmatchcase(name, i["name"]))
            for i in items
        )

    allow_list = spec.get("clusterResourceWhitelist") or []
    deny_list = spec.get("clusterResourceBlacklist") or []
    return bool(allow_list) and named_in(allow_list) and not named_in(deny_list)


def app_namespace_permitted(project: Json, app_namespace: str, enabled: set[str]) -> bool:
    if app_namespace == CONTROL_PLANE:
        return True
    # The controller ignores Applications outside argocd + application.namespaces.
    return app_namespace in enabled and any(
        glob_match(entry, app_namespace, False)
        for entry in project["spec"].get("sourceNamespaces", [])
    )


@dataclass(frozen=True)
class Resource:
    group: str
    kind: str
    name: str
    namespace: str
    """Empty for cluster-scoped objects."""


@dataclass(frozen=True)
class Platform:
    projects: dict[str, Json]
    application_namespaces: set[str]
    """argocd-cmd-params-cm application.namespaces."""


def refusals(
    app: Json,
    app_namespace: str,
    platform: Platform,
    deploys: list[Resource] = (),  # type: ignore[assignment]
) -> list[str]:
    """Why Argo CD would refuse `app` (empty: it runs), and each object it deploys."""
    project = platform.projects.get(app["project"])
    if project is None:
        return [f"no AppProject {app['project']!r}"]
    problems = []
    if not app_namespace_permitted(project, app_namespace, platform.application_namespaces):
        problems.append(f"project {app['project']} not usable from namespace {app_namespace}")
    if not source_permitted(project, app["source"]["repoURL"]):
        problems.append(f"source {app['source']['repoURL']} not permitted")
    destination = app["destination"]
    if not destination_permitted(
        project, destination["server"], IN_CLUSTER_NAME, destination["namespace"]
    ):
        problems.append(f"destination {destination['namespace']} not permitted")
    for obj in deploys:
        namespaced = obj.namespace != ""
        if not kind_permitted(project, obj.group, obj.kind, obj.name, namespaced):
            problems.append(f"{obj.kind} {obj.name} not permitted")
        elif namespaced and not destination_permitted(
            project, IN_CLUSTER, IN_CLUSTER_NAME, obj.namespace
        ):
            problems.append(f"{obj.kind} {obj.name} in {obj.namespace} not permitted")
    return problems


# ------------------------------------------------------------------- the synthesized platform

NAMESPACE_REF = re.compile(r"\$\{kubernetes_namespace_v1\.([A-Za-z0-9_-]+)\.metadata\[0\]\.name\}")


def namespace_name(stack: Json, value: str) -> str:
    """A namespace reference (or literal) -> the namespace's name."""
    reference = NAMESPACE_REF.fullmatch(value)
    if reference is None:
        return value
    name = resources(stack, "kubernetes_namespace_v1")[reference[1]]["metadata"]["name"]
    assert isinstance(name, str)
    return name


def platform_of(stack: Json) -> Platform:
    bundle = values_of(releases(stack)["argocd-projects"])["manifests"]
    projects = {p["metadata"]["name"]: p for p in bundle if p["kind"] == "AppProject"}
    for project in projects.values():
        assert namespace_name(stack, project["metadata"]["namespace"]) == CONTROL_PLANE
    params = values_of(releases(stack)["argo-cd"])["configs"]["params"]
    return Platform(
        projects=projects,
        application_namespaces=set(params["application.namespaces"].split(",")),
    )


def applications(stack: Json) -> dict[str, tuple[Json, str]]:
    """Application name -> (spec with literal destination namespace, its own namespace)."""
    found = {}
    for release in releases(stack).values():
        if release["chart"] != "argocd-apps":
            continue
        for name, app in values_of(release)["applications"].items():
            destination = {
                **app["destination"],
                "namespace": namespace_name(stack, app["destination"]["namespace"]),
            }
            found[name] = (
                {**app, "destination": destination},
                namespace_name(stack, app["namespace"]),
            )
    return found


ALL = list(VARIANTS)


@pytest.mark.parametrize("variant", ALL)
def test_every_application_is_in_its_lane(synthesized: Synthesized, variant: str) -> None:
    stack = synthesized.stack(variant, "bootstrap")
    platform = platform_of(stack)
    apps = applications(stack)
    assert set(platform.projects) == {"platform", "team"}
    for name, (app, app_namespace) in apps.items():
        assert app["project"] == ("team" if name == "root" else "platform"), name
        assert app_namespace == CONTROL_PLANE
        assert refusals(app, app_namespace, platform) == [], name


#: The team's Application objects live here in the example (the config's default).
TEAM_APPS = "team-apps"
GITOPS_REPO = "git@github.com:example/mlops-gitops.git"


def team_app(**changes: Any) -> Json:
    """An Application a team commits: fine as is, each test changes one thing."""
    app: Json = {
        "project": "team",
        "source": {"repoURL": GITOPS_REPO, "path": "team-ml", "targetRevision": "main"},
        "destination": {"server": IN_CLUSTER, "namespace": "team-ml"},
    }
    for key, value in changes.items():
        app[key] = {**app[key], **value} if isinstance(value, dict) else value
    return app


def test_a_team_application_in_its_lane_runs(synthesized: Synthesized) -> None:
    platform = platform_of(synthesized.stack("example", "bootstrap"))
    deploys = [
        Resource(group="apps", kind="Deployment", name="web", namespace="team-ml"),
        Resource(group="", kind="Service", name="web", namespace="team-ml"),
        Resource(group="argoproj.io", kind="Application", name="web", namespace=TEAM_APPS),
        # What CreateNamespace=true makes; Argo CD checks it like any object.
        Resource(group="", kind="Namespace", name="team-ml", namespace=""),
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


def test_cluster_resources_only_when_the_config_says_so(synthesized: Synthesized) -> None:
    cluster_role = [
        Resource(group="rbac.authorization.k8s.io", kind="ClusterRole", name="x", namespace="")
    ]
    example = platform_of(synthesized.stack("example", "bootstrap"))
    assert example.projects["team"]["spec"]["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": "team-*"}
    ]
    assert refusals(team_app(), TEAM_APPS, example, cluster_role)
    hostile = platform_of(synthesized.stack("hostile", "bootstrap"))  # cluster_resources: true
    app = team_app(
        source={"repoURL": "ssh://git@git.example.com:2222/team/gitops.git"},
        destination={"namespace": "ml-training"},
    )
    assert refusals(app, "ml-apps", hostile, cluster_role) == []
    # Its namespaces: ml-* and sandbox, not the default team-*, not the custom app's team-app.
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
        ("namespaces", ["team-*", "kube-system"], "kube-*"),
        ("namespaces", ["k*"], "kube-*"),
        ("namespaces", ["argo*"], "'argocd'"),
        ("namespaces", ["jupyterhub"], "'jupyterhub'"),
        ("namespaces", ["ml*"], "'mlflow'"),
        ("namespaces", ["istio-*"], "'istio-ingress'"),
        ("namespaces", ["default"], "'default'"),
        ("applications_namespace", "argocd", "'argocd'"),
        ("applications_namespace", "mlflow", "'mlflow'"),
    ],
)
def test_config_refuses_team_namespaces_that_reach_the_platform(
    field: str, value: Any, words: str
) -> None:
    from platform_config import ConfigError
    from tests.conftest import example_data

    data = example_data()
    data["gitops"][field] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "bad.yaml")
    message = str(caught.value)
    assert f"gitops.{field}" in message and words in message, message


def test_config_refuses_glob_syntax_it_cannot_reason_about() -> None:
    from platform_config import ConfigError
    from tests.conftest import example_data

    for glob in ("*", "!kube-system", "team-?", "team-[a-z]", "*-team", "{a,b}"):
        data = example_data()
        data["gitops"]["namespaces"] = [glob]
        with pytest.raises(ConfigError, match=r"gitops\.namespaces"):
            parse_config(data, "bad.yaml")


def test_config_team_namespace_defaults() -> None:
    from tests.conftest import example_data

    gitops = parse_config(example_data(), "example.yaml").gitops
    assert gitops.namespaces == ["team-*"]
    assert gitops.applications_namespace == TEAM_APPS
    assert gitops.cluster_resources is False
