"""Argo CD AppProjects: every Application in its lane.

Two projects (docs/architecture.md, "GitOps handover"):

- ``platform``: the Applications Terraform writes into the argocd namespace
  (JupyterHub, MLflow, custom apps, Argo CD itself). Their charts come from the
  config's pinned repositories and go to the platform's own namespaces.
- ``team``: the root app-of-apps and everything it creates. Only the
  configured GitOps repository, only the namespaces the config allows, only
  the ordinary namespaced kinds of TEAM_NAMESPACED_KINDS (an allow list: in
  Argo CD v3.4.4 a missing namespaceResourceWhitelist admits every namespaced
  kind, app_project_types.go:407), no cluster-scoped kind (the platform
  creates the team's namespaces: tenancy.py), and Applications only from the team's own
  namespace (``sourceNamespaces``): an Application there naming
  ``project: platform`` is refused by Argo CD.

Destinations are an allow list of names and prefixes that the config layer
has already checked against every platform namespace. No ``!`` entries: in
Argo CD 3.4 (AppProject.isDestinationMatched) an entry ``!kube-system``
matches every other namespace, so next to an allow list it would widen it to
"everything but kube-system" (tests/services/argocd/test_argocd_projects.py shows this).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The cluster Argo CD runs in, as Applications name it.
IN_CLUSTER = "https://kubernetes.default.svc"
APPPROJECT_API = "argoproj.io/v1alpha1"
PLATFORM_PROJECT = "platform"
TEAM_PROJECT = "team"
#: Every group and kind: what a chart's ClusterRoles and CRDs need.
ANY_RESOURCE = {"group": "*", "kind": "*"}

#: (API group, kind) a team may deploy into its namespaces: ordinary application
#: objects. Left out on purpose (docs/security.md, "Tenants"): every Istio and
#: Gateway API kind (they change how the shared gateway and the mesh route, and
#: pick their own exportTo), SecretStores, PushSecrets and ESO generators (a store
#: without auth, a token generator: the ESO controller's Google identity), GKE
#: Ingress, Endpoints/EndpointSlices (selectorless Services around IAP), bare Pods
#: and DaemonSets (Deployments, StatefulSets and Jobs cover a team's workloads; no
#: per-node agents), ResourceQuota/LimitRange (the platform's), and every
#: cluster-scoped kind. Services are admitted here; their types and fields are
#: admission's business. Exact names only: no globs.
TEAM_NAMESPACED_KINDS: tuple[tuple[str, str], ...] = (
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("", "Service"),
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "ServiceAccount"),
    ("", "PersistentVolumeClaim"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("external-secrets.io", "ExternalSecret"),
    # The team's own Applications, in its applications namespace (the only
    # namespace besides argocd whose Applications Argo CD reads).
    ("argoproj.io", "Application"),
    ("argoproj.io", "ApplicationSet"),
)


def app_project(
    *,
    name: str,
    namespace: str,
    description: str,
    source_repos: Sequence[str],
    destination_namespaces: Sequence[str],
    cluster_resources: bool,
    creatable_namespaces: Sequence[str] = (),
    source_namespaces: Sequence[str] = (),
    namespaced_kinds: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """An AppProject manifest.

    source_repos and destination_namespaces: exact entries (Argo CD globs),
    duplicates dropped (Argo CD's ValidateProject refuses them);
    cluster_resources: any cluster-scoped kind; otherwise only Namespaces whose
    names match creatable_namespaces (Argo CD checks the Namespace that
    CreateNamespace=true makes against this list too: gitops-engine
    getSyncTasks adds it before the permission check), nothing when empty;
    source_namespaces: namespaces other than argocd whose Applications may use
    this project; namespaced_kinds: (group, kind) allowed in its namespaces,
    None for every kind. Never empty: an empty list would be dropped when the
    AppProject is serialized (omitempty, types.go:2793) and then mean every kind.
    """
    if namespaced_kinds is not None and not namespaced_kinds:
        raise ValueError(f"AppProject {name}: an empty namespaced allow list means everything")
    if not source_repos or not destination_namespaces:
        raise ValueError(f"AppProject {name}: needs at least one source and one destination")
    for entry in [
        *source_repos,
        *destination_namespaces,
        *source_namespaces,
        *creatable_namespaces,
    ]:
        if not entry or entry.startswith("!") or entry == "*":
            raise ValueError(
                f"AppProject {name}: {entry!r} is not an allow-list entry (no '!', no bare '*')"
            )
    spec: dict[str, Any] = {
        "description": description,
        "sourceRepos": list(dict.fromkeys(source_repos)),
        "destinations": [
            {"server": IN_CLUSTER, "namespace": destination}
            for destination in dict.fromkeys(destination_namespaces)
        ],
        "clusterResourceWhitelist": [dict(ANY_RESOURCE)]
        if cluster_resources
        else [
            {"group": "", "kind": "Namespace", "name": namespace}
            for namespace in dict.fromkeys(creatable_namespaces)
        ],
    }
    if namespaced_kinds is not None:
        spec["namespaceResourceWhitelist"] = [
            {"group": group, "kind": kind} for group, kind in dict.fromkeys(namespaced_kinds)
        ]
    if source_namespaces:
        spec["sourceNamespaces"] = list(dict.fromkeys(source_namespaces))
    return {
        "apiVersion": APPPROJECT_API,
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
