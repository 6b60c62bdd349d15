"""`teams`: tenants, each with its own GitOps repository, namespaces and AppProject.

The single `gitops` lane stays as it was (its project is `team`); a team here
gets the same walls (platform-owned namespaces, the ordinary-kinds allow list,
admission) in a project of its own named after it. Moving the `gitops` lane
into `teams:` is the migration path (README, "Teams").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from platform_config.base import StrictModel, unique
from platform_config.types import (
    DnsLabel,
    Email,
    GitRevision,
    KubernetesQuantity,
    RepoPath,
    rule,
)
from platform_config.urls import GitRepoUrl, HttpsOrOciUrl, repo_scheme

#: Team names that are AppProject names of the platform or Argo CD.
RESERVED_TEAM_NAMES = frozenset({"platform", "team", "default"})


CpuQuantity = Annotated[str, rule(r"[1-9][0-9]{0,3}|[1-9][0-9]{0,5}m", "CPUs such as 4 or 500m")]


class TeamQuota(StrictModel):
    """ResourceQuota of each of the team's namespaces (and LimitRange defaults)."""

    cpu: CpuQuantity = "4"
    """requests.cpu and limits.cpu, per namespace."""
    memory: KubernetesQuantity = "16Gi"
    """requests.memory and limits.memory, per namespace."""
    storage: KubernetesQuantity = "100Gi"
    """requests.storage (PersistentVolumeClaims), per namespace."""
    pods: int = Field(default=50, ge=1, le=1000)
    """Pods, per namespace."""
    services: int = Field(default=20, ge=1, le=200)
    """Services, per namespace (none of type LoadBalancer or NodePort)."""


class TeamConfig(StrictModel):
    """One tenant."""

    members: Annotated[list[Email], AfterValidator(unique)] = Field(
        default_factory=list, max_length=200
    )
    """Who may sync (and read) the team's Applications in Argo CD."""
    repo_url: GitRepoUrl
    """The team's GitOps repository (https, public: per-team credentials come later)."""
    revision: GitRevision = "main"
    """Branch, tag or commit."""
    path: RepoPath = "apps"
    """Directory (read recursively) of the team's Argo CD manifests."""
    namespaces: Annotated[list[DnsLabel], AfterValidator(unique)] = Field(
        min_length=1, max_length=20
    )
    """The team's namespaces, created by the platform (restricted, quota, default-deny);
    its Applications live in <team>-apps."""
    chart_repositories: Annotated[list[HttpsOrOciUrl], AfterValidator(unique)] = Field(
        default_factory=list, max_length=20
    )
    """Helm chart repositories the team's Applications may use besides repo_url."""
    quota: TeamQuota = TeamQuota()
    """Per-namespace limits (ResourceQuota; LimitRange defaults for containers)."""

    @field_validator("repo_url")
    @classmethod
    def _public_https(cls, url: str) -> str:
        if repo_scheme(url) != "https":
            raise ValueError(
                "a team repository is a public https:// URL for now (per-team credentials "
                "are not built yet); a private repository stays in the `gitops` lane"
            )
        return url


def applications_namespace(team: str) -> str:
    """Where the team's root app writes its Application objects."""
    return f"{team}-apps"


def team_namespaces(team: str, config: TeamConfig) -> list[str]:
    """Every namespace the platform creates for the team, its Applications' first."""
    return [applications_namespace(team), *config.namespaces]
