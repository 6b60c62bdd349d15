"""ArgoApp: one Argo CD Application, installed through the argocd-apps chart.

The Application CRD comes with the argo-cd release, so each Application is a
release of its own (argocd-apps) that depends on it, never extraObjects of
argo-cd itself (Helm refuses a CR next to its templated CRD on day one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_helm.provider import HelmProvider
from constructs import Construct

from platform_constructs.helm_chart_release import HelmChartRelease, HelmChartReleaseProps
from platform_services.argocd.charts import ARGOCD_APPS

SEMVER = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?")


@dataclass(frozen=True, kw_only=True)
class HelmChartSource:
    repo_url: str
    chart: str
    version: str
    """Exact version: a range would let the app change without a review."""
    values: Mapping[str, Any] = field(default_factory=dict)
    release_name: str | None = None
    """Helm release name to render with; None: the Application's name. Set it to
    adopt what a Terraform helm_release installed (same labels and names)."""


@dataclass(frozen=True, kw_only=True)
class GitPathSource:
    repo_url: str
    revision: str
    path: str
    recurse: bool = True
    """Read the directory tree (the app-of-apps pattern)."""


@dataclass(frozen=True, kw_only=True)
class ArgoAppProps:
    name: str
    destination_namespace: str
    source: HelmChartSource | GitPathSource
    argocd_namespace: str
    provider: HelmProvider
    depends_on: Sequence[ITerraformDependable]
    """The argo-cd release (CRD), the AppProjects, e.g. the repository secret."""
    cascade_delete: bool = True
    """Deleting the Application deletes what it deployed (Argo CD's resources
    finalizer). Off for Argo CD's own Application: deleting it must not delete
    Argo CD, whose controller would have to remove its own finalizer."""
    project: str
    """The AppProject (platform_constructs/argo_projects.py). Never `default`:
    Argo CD's built-in project allows any source and any destination."""
    self_heal: bool = True
    """Automated sync also reverts drift in the live objects. Off: automated
    sync acts only when the Application's source changes (Argo CD's own
    Application, which Terraform upgrades through a helm_release first:
    platform_services/argocd/service.py)."""
    ignore_differences: Sequence[Mapping[str, Any]] = ()
    """Fields the chart regenerates on every render that Argo CD must leave as
    first applied: ignored in the diff and (RespectIgnoreDifferences) on sync.
    Default: none."""


class ArgoApp(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: ArgoAppProps) -> None:
        super().__init__(scope, id_)
        # The Helm release is app-<name>, and Helm allows 53 characters.
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,47}[a-z0-9])?", props.name):
            raise ValueError(
                f"ArgoApp: invalid application name {props.name!r} "
                "(a lowercase DNS label of at most 49 characters)"
            )
        if props.project == "default" or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", props.project
        ):
            raise ValueError(
                f"ArgoApp {props.name}: project {props.project!r} is not one of the platform's "
                "AppProjects (the built-in 'default' allows any source and destination)"
            )
        source = props.source
        if isinstance(source, HelmChartSource):
            if not SEMVER.fullmatch(source.version):
                raise ValueError(
                    f"ArgoApp {props.name}: chart version {source.version!r} is not pinned (x.y.z)"
                )
            helm: dict[str, Any] = {"valuesObject": dict(source.values)}
            if source.release_name is not None:
                helm["releaseName"] = source.release_name
            source_spec: dict[str, Any] = {
                "repoURL": source.repo_url,
                "chart": source.chart,
                "targetRevision": source.version,
                "helm": helm,
            }
        else:
            if not source.revision or source.path.startswith("/"):
                raise ValueError(f"ArgoApp {props.name}: need a revision and a relative path")
            source_spec = {
                "repoURL": source.repo_url,
                "targetRevision": source.revision,
                "path": source.path,
                "directory": {"recurse": source.recurse},
            }
        sync_options = ["CreateNamespace=true", "ServerSideApply=true"]
        if props.ignore_differences:
            sync_options.append("RespectIgnoreDifferences=true")
        self.application: dict[str, Any] = {
            "namespace": props.argocd_namespace,
            "project": props.project,
            "source": source_spec,
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": props.destination_namespace,
            },
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": props.self_heal},
                "syncOptions": sync_options,
                "retry": {
                    "limit": 10,
                    "backoff": {"duration": "30s", "factor": 2, "maxDuration": "10m"},
                },
            },
        }
        if props.ignore_differences:
            self.application["ignoreDifferences"] = [dict(d) for d in props.ignore_differences]
        if props.cascade_delete:
            # Deleting the Application deletes what it deployed.
            self.application["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
        self.release = HelmChartRelease(
            self,
            "application",
            props=HelmChartReleaseProps(
                chart=ARGOCD_APPS,
                release_name=f"app-{props.name}",
                namespace=props.argocd_namespace,
                provider=props.provider,
                computed_values={"applications": {props.name: self.application}},
                depends_on=props.depends_on,
                timeout_seconds=300,
            ),
        ).release
