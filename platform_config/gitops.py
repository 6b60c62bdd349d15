"""`gitops`: the team's own GitOps repository and the lane its Applications get."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from platform_config.base import StrictModel, field_error, unique
from platform_config.types import DnsLabel, GitRevision, RepoPath
from platform_config.urls import GitRepoUrl, RepoScheme, repo_scheme


class GitOpsConfig(StrictModel):
    """The team's own GitOps repository, synced by a root app-of-apps."""

    repo_url: GitRepoUrl
    """Repository Argo CD syncs: https://, ssh:// or git@host:org/repo.git."""
    revision: GitRevision = "main"
    """Branch, tag or commit."""
    path: RepoPath = "apps"
    """Directory (read recursively) of Argo CD manifests; '.' for the root."""
    private: bool | None = None
    """Whether Argo CD needs credentials (stored in Secret Manager). Defaults to
    true for SSH URLs, false for https URLs."""
    applications_namespace: DnsLabel = "team-apps"
    """Where the root app-of-apps writes the team's Application and ApplicationSet
    objects (Argo CD's "applications in any namespace"). Applications there may
    use only the team's AppProject; the argocd namespace stays the platform's."""
    namespaces: Annotated[list[DnsLabel], AfterValidator(unique)] = Field(
        default_factory=lambda: ["team-ml"], min_length=1, max_length=50
    )
    """The team's namespaces, by name: the platform creates each one (Pod Security
    `restricted`, default-deny NetworkPolicies with DNS egress, out of the mesh)
    and the team's Applications may deploy only there. None may be a namespace of
    Kubernetes (kube-*, gke-*, gmp-*, default), of the platform (istio-system,
    istio-ingress, external-secrets, argocd) or of an enabled app.
    applications_namespace is always allowed (and created alike)."""
    cluster_resources: bool = False
    """No longer supported: must be false (kept so that old configs get a clear
    error). A team's Applications create no cluster-scoped objects: a
    ClusterRoleBinding, a webhook or a Namespace with its own labels would take
    the team out of its namespaces. Cluster-wide charts are platform apps (apps)."""

    @property
    def repo_scheme(self) -> RepoScheme:
        """How Argo CD reaches repo_url: "https", or "ssh" (ssh:// and git@host:path)."""
        return repo_scheme(self.repo_url)

    @property
    def needs_credentials(self) -> bool:
        if self.private is not None:
            return self.private
        return self.repo_scheme == "ssh"

    @field_validator("namespaces", mode="before")
    @classmethod
    def _no_patterns(cls, value: object) -> object:
        patterns = (
            [v for v in value if isinstance(v, str) and "*" in v] if isinstance(value, list) else []
        )
        if patterns:
            raise ValueError(
                f"{patterns[0]!r} is a pattern; the platform now creates each team namespace "
                "itself (Pod Security restricted, default-deny network), so list the names "
                "the team deploys into, e.g. [team-ml, team-ml-staging]"
            )
        return value

    @model_validator(mode="after")
    def _no_cluster_resources(self) -> GitOpsConfig:
        if self.cluster_resources:
            raise field_error(
                "cluster_resources",
                "true is no longer supported: cluster-scoped objects (ClusterRoles and their "
                "bindings, CRDs, webhooks, Namespaces) would let the team's repository out of "
                "its namespaces (a ClusterRoleBinding makes it cluster admin). Remove the "
                "line; install cluster-wide charts as platform apps (apps.<name>)",
            )
        return self

    @model_validator(mode="after")
    def _ssh_needs_key(self) -> GitOpsConfig:
        if self.private is False and self.repo_scheme == "ssh":
            raise field_error(
                "private", "an SSH repo_url always needs a key: set private: true or use https://"
            )
        return self
