"""The platform's public interface: one YAML file, validated by these models.

Every optional field has a secure default. Unknown keys are errors, so a typo
(``deletion_protecton``) fails loudly instead of silently keeping a default.
This package imports nothing from cdktf: a bad config is rejected before the
multi-second jsii load of the provider packages.

One module per section (access, network, cluster, gitops, apps, dns, ingress;
the apps' own sections live in their service packages, platform_services/*/config.py);
this module holds the root, PlatformConfig, and re-exports the rest under
their historic names.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from platform_config.access import AccessConfig
from platform_config.apps import (
    APP_KEY_PATTERN,
    MAX_APPS,
    AppConfig,
    AppsConfig,
    JupyterHubConfig,
    MlflowConfig,
    MlflowDatabaseConfig,
)
from platform_config.base import FIELD_MARK, Port, StrictModel, field_error, slug
from platform_config.cluster import BastionConfig, ClusterConfig, GpuConfig, NodePoolConfig
from platform_config.dns import DnsConfig
from platform_config.gitops import GitOpsConfig
from platform_config.ingress import IngressConfig
from platform_config.names import (
    GCE_NAME,
    GCS_BUCKET,
    JUPYTERHUB_LABEL,
    MAX_BUCKET_NAME,
    MAX_CERTIFICATE_DOMAIN_LENGTH,
    MAX_GKE_CLUSTER_NAME,
    SECRET_ID,
    SERVICE_ACCOUNT_ID,
    DerivedName,
    PlatformNames,
    not_google,
    platform_names,
)
from platform_config.network import Cidr, NetworkConfig, PrivateServicesCidr
from platform_config.reserved import (
    RESERVED_APP_KEYS,
    RESERVED_HOSTS,
    RESERVED_LABEL_KEYS,
    RESERVED_LABEL_PREFIXES,
    RESERVED_NAMESPACE_PREFIXES,
    RESERVED_NAMESPACES,
    namespace_glob_clash,
)
from platform_config.rules import cross_field_problems
from platform_config.safe_data import first_unsafe
from platform_config.teams import RESERVED_TEAM_NAMES, TeamConfig
from platform_config.types import (
    BucketName,
    DnsLabel,
    DomainName,
    Environment,
    LabelKey,
    LabelValue,
    ProjectId,
    Region,
)
from platform_config.urls import GitRepoUrl, HttpsOrOciUrl
from platform_config.values_files import MAX_VALUES_FILE_BYTES, ValuesFile

__all__ = [
    "APP_KEY_PATTERN",
    "FIELD_MARK",
    "GCE_NAME",
    "GCS_BUCKET",
    "MAX_APPS",
    "MAX_BUCKET_NAME",
    "MAX_CERTIFICATE_DOMAIN_LENGTH",
    "MAX_GKE_CLUSTER_NAME",
    "MAX_VALUES_FILE_BYTES",
    "RESERVED_APP_KEYS",
    "RESERVED_HOSTS",
    "RESERVED_LABEL_KEYS",
    "RESERVED_LABEL_PREFIXES",
    "RESERVED_NAMESPACES",
    "RESERVED_NAMESPACE_PREFIXES",
    "RULE_PROBLEMS",
    "SECRET_ID",
    "SERVICE_ACCOUNT_ID",
    "UNSAFE_STRINGS_CHECKED",
    "AccessConfig",
    "AppConfig",
    "AppsConfig",
    "BastionConfig",
    "Cidr",
    "ClusterConfig",
    "DerivedName",
    "DnsConfig",
    "GitOpsConfig",
    "GitRepoUrl",
    "GpuConfig",
    "HttpsOrOciUrl",
    "IngressConfig",
    "JupyterHubConfig",
    "MlflowConfig",
    "MlflowDatabaseConfig",
    "NetworkConfig",
    "NodePoolConfig",
    "PlatformConfig",
    "PlatformNames",
    "Port",
    "PrivateServicesCidr",
    "StrictModel",
    "ValuesFile",
    "field_error",
    "namespace_glob_clash",
    "slug",
]

#: Validation context keys of the loader, which reports every problem at once:
#: it walks the strings itself (all of them, not the first), and takes the
#: cross-section problems as a list (in this context key) instead of the first
#: one raised.
UNSAFE_STRINGS_CHECKED = "unsafe_strings_checked"
RULE_PROBLEMS = "rule_problems"


class PlatformConfig(StrictModel):
    """Root of config/<name>.yaml."""

    environment: Environment
    """State prefix <environment>/<stack> and name suffix; label `environment`."""
    project_id: ProjectId
    """Google Cloud project where everything is created."""
    region: Region
    """Region of the cluster, subnet, Cloud SQL, bucket and secret replicas."""
    state_bucket: Annotated[BucketName, AfterValidator(not_google)]
    """GCS bucket holding the Terraform state (`make state-bucket` creates it)."""
    domain: DomainName
    """Argo CD at argocd.<domain>, apps at <host>.<domain>."""
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=60)
    """Labels on every Google resource (plus managed-by and environment) and on nodes."""
    access: AccessConfig
    """Who may reach the platform and who administers Argo CD."""
    network: NetworkConfig = NetworkConfig()
    """Address plan of the VPC."""
    cluster: ClusterConfig = ClusterConfig()
    """The private GKE cluster: name, control plane access, node pools."""
    gitops: GitOpsConfig
    """The team's GitOps repository."""
    teams: dict[DnsLabel, TeamConfig] = Field(default_factory=dict, max_length=20)
    """Tenants by name: each gets an AppProject of its own (its repository and chart
    repositories, its namespaces, ordinary namespaced kinds only), namespaces the
    platform owns (<name>-apps for its Applications, and its namespaces: Pod
    Security restricted, ResourceQuota, LimitRange, default-deny network) and a
    root Application."""
    apps: AppsConfig = AppsConfig()
    """Apps Argo CD runs behind IAP."""
    dns: DnsConfig = DnsConfig()
    """Optional Cloud DNS records."""
    ingress: IngressConfig = IngressConfig()
    """The load balancer's backend settings."""

    @model_validator(mode="before")
    @classmethod
    def _data_never_code(cls, data: Any, info: ValidationInfo) -> Any:
        """No string anywhere (keys included) may carry template syntax or odd characters.

        The field types already refuse these characters; this walk also covers
        keys, unknown keys and any future field, and says what is wrong plainly
        (platform_config/safe_data.py). The loader walks them all itself.
        """
        if (info.context or {}).get(UNSAFE_STRINGS_CHECKED):
            return data
        found = first_unsafe(data)
        if found is not None:
            raise field_error(*found)
        return data

    @field_validator("labels")
    @classmethod
    def _labels_not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        for key in labels:
            if key in RESERVED_LABEL_KEYS or key.startswith(RESERVED_LABEL_PREFIXES):
                raise ValueError(
                    f"the label key {key!r} is set by the platform (or reserved by Google): "
                    f"{', '.join(sorted(RESERVED_LABEL_KEYS))} and goog* are not allowed"
                )
        return labels

    @field_validator("teams")
    @classmethod
    def _team_names(cls, teams: dict[str, TeamConfig]) -> dict[str, TeamConfig]:
        for name in teams:
            if name in RESERVED_TEAM_NAMES:
                raise ValueError(
                    f"the team name {name!r} is an AppProject of the platform or Argo CD "
                    f"({', '.join(sorted(RESERVED_TEAM_NAMES))})"
                )
        return teams

    @model_validator(mode="after")
    def _cross_field_rules(self, info: ValidationInfo) -> PlatformConfig:
        """The rules across sections (platform_config/rules.py): the first problem
        raised, or all of them handed to the loader (RULE_PROBLEMS)."""
        problems = cross_field_problems(self)
        sink = (info.context or {}).get(RULE_PROBLEMS)
        if isinstance(sink, list):
            sink.extend(problems)
            return self
        if problems:
            raise field_error(*problems[0])
        return self

    @property
    def platform_namespaces(self) -> frozenset[str]:
        """Namespaces (and, ending in '*', families) the team's project never reaches."""
        return (
            RESERVED_NAMESPACES
            | {prefix + "*" for prefix in RESERVED_NAMESPACE_PREFIXES}
            | set(self.app_namespaces.values())
        )

    # ---- derived values, computed once here so stacks never recompute them

    @property
    def names(self) -> PlatformNames:
        """Every generated name (validated by platform_config.names.name_problems)."""
        return platform_names(self)

    @property
    def default_labels(self) -> dict[str, str]:
        """Labels on every Google resource: the config's, `managed-by` and `environment`."""
        return {**self.labels, "managed-by": "cdktf", "environment": self.environment}

    @property
    def bastion_mode(self) -> bool:
        return self.cluster.control_plane_access == "bastion"

    @property
    def bastion_zone(self) -> str:
        return self.cluster.bastion.zone or f"{self.region}-b"

    @property
    def app_hosts(self) -> dict[str, str]:
        """Fully qualified host of every enabled app, by app name."""
        return {
            name: f"{app.host or name}.{self.domain}" for name, app in self.apps.enabled().items()
        }

    @property
    def app_namespaces(self) -> dict[str, str]:
        """Kubernetes namespace of every enabled app, by app name."""
        return {name: app.namespace or name for name, app in self.apps.enabled().items()}

    @property
    def argocd_host(self) -> str:
        return f"argocd.{self.domain}"

    @property
    def certificate_domains(self) -> list[str]:
        """Every domain the door's certificates cover, whatever the apps: the apex,
        every <host>.<domain> (one wildcard), every per-user JupyterHub host."""
        return [*self.platform_certificate_domains, *self.user_certificate_domains]

    @property
    def platform_certificate_domains(self) -> list[str]:
        return [self.domain, f"*.{self.domain}"]

    @property
    def user_certificate_domains(self) -> list[str]:
        """*.jupyterhub.<domain>: a second level, which *.<domain> does not cover."""
        return [f"*.{self.user_host_parent}"]

    @property
    def user_host_parent(self) -> str:
        """JupyterHub's host, its `subdomain_host`: each user's server is on
        <label>.<this host>. It follows apps.jupyterhub.host, so the per-user
        certificate and DNS records follow a renamed hub."""
        return f"{self.apps.jupyterhub.host or JUPYTERHUB_LABEL}.{self.domain}"

    @property
    def needs_private_services(self) -> bool:
        """Cloud SQL (MLflow's backend store) needs private services access."""
        return self.apps.mlflow.enabled

    @property
    def mlflow_bucket_name(self) -> str:
        """MLflow's artifact bucket (GCS names are global: the project id makes it unique)."""
        return f"{self.project_id}-{self.environment}-mlflow-artifacts"

    def name(self, suffix: str) -> str:
        """A resource name unique per environment: <cluster>-<env>-<suffix>."""
        return f"{self.cluster.name}-{self.environment}-{suffix}"
