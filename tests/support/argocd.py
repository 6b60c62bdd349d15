"""Argo CD's own rules, ported: AppProject matching (Argo CD 3.4.4) and policy.csv lines."""

from __future__ import annotations

import csv
import fnmatch
import io
import re
from dataclasses import dataclass
from typing import Any

from platform_services.argocd.projects import IN_CLUSTER
from tests.support.stacks import releases, resources, values_of
from tests.support.variants import Json

CONTROL_PLANE = "argocd"


IN_CLUSTER_NAME = "in-cluster"


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
    """AppProject.IsGroupKindNamePermitted, Argo CD v3.4.4
    pkg/apis/application/v1alpha1/app_project_types.go:399-418, with
    isResourceInList / isNamedResourceInList (types.go:3621-3650; filepath.Match
    on kind, then group, then name). Namespaced: a nil whitelist admits every
    kind (line 407: `namespaceWhitelist == nil || len(...) != 0 && ...`), an
    empty one none; the field is `omitempty` (types.go:2793), so an empty list
    does not survive serialization and becomes nil. Cluster-scoped: only what a
    non-empty whitelist names (line 415)."""
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


def policy_lines(text: str) -> list[list[str]]:
    """loadPolicyLine: CSV fields with leading spaces trimmed; bad lines are errors."""
    lines = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        (tokens,) = list(csv.reader(io.StringIO(line), skipinitialspace=True))
        if not tokens or not tokens[0] or (tokens[0], len(tokens)) not in {("g", 3), ("p", 6)}:
            raise ValueError(f"invalid RBAC policy: {line}")
        lines.append(tokens)
    return lines
