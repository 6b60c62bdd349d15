"""The platform's public interface: one YAML file, validated by these models.

Every optional field has a secure default. Unknown keys are errors, so a typo
(``deletion_protecton``) fails loudly instead of silently keeping a default.
This module imports nothing from cdktf: a bad config is rejected before the
multi-second jsii load of the provider packages.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

#: helm-values/ lives next to this package; app entries name files inside it.
HELM_VALUES_DIR = Path(__file__).resolve().parent.parent / "helm-values"

#: Host names the platform itself uses under the domain; apps cannot take them.
RESERVED_HOSTS = frozenset({"argocd"})

#: Google-managed SSL certificates accept at most this many domains.
MAX_CERTIFICATE_DOMAINS = 100
#: GKE cluster names (<cluster.name>-<environment>-gke) have at most 40 characters.
MAX_GKE_CLUSTER_NAME = 40
#: GCS bucket names (MLflow's <project_id>-<environment>-mlflow-artifacts): at most 63.
MAX_BUCKET_NAME = 63


class StrictModel(BaseModel):
    """Base for every config section: unknown keys rejected, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _pattern(regex: str, allowed: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not valid: expected {allowed}")
        return value

    return AfterValidator(check)


ProjectId = Annotated[
    str,
    _pattern(
        r"[a-z][a-z0-9-]{4,28}[a-z0-9]",
        "a Google Cloud project id: 6-30 characters, lowercase letters, digits "
        "and hyphens, starting with a letter and not ending with a hyphen",
    ),
]
Region = Annotated[
    str,
    _pattern(r"[a-z]+-[a-z]+[0-9]+", "a Google Cloud region such as europe-west4"),
]
Zone = Annotated[
    str,
    _pattern(r"[a-z]+-[a-z]+[0-9]+-[a-z]", "a Google Cloud zone such as europe-west4-b"),
]
Environment = Annotated[
    str,
    _pattern(
        r"[a-z][a-z0-9-]{0,14}[a-z0-9]|[a-z]",
        "1-16 lowercase letters, digits and hyphens, starting with a letter",
    ),
]
BucketName = Annotated[
    str,
    _pattern(
        r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]",
        "a GCS bucket name: 3-63 lowercase letters, digits, '-', '_' or '.'",
    ),
]
DnsLabel = Annotated[
    str,
    _pattern(
        r"[a-z]([-a-z0-9]{0,38}[a-z0-9])?",
        "a lowercase DNS label of at most 40 characters (letters, digits, '-'), "
        "starting with a letter",
    ),
]
MachineType = Annotated[
    str,
    _pattern(r"[a-z][a-z0-9]*-[a-z0-9-]+", "a Compute Engine machine type such as e2-standard-4"),
]
ChartVersion = Annotated[
    str,
    _pattern(
        r"[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?",
        "an exact chart version such as 1.2.3 (ranges are not pinned)",
    ),
]
KubernetesQuantity = Annotated[
    str,
    _pattern(r"[0-9]+(Mi|Gi|Ti)", "a storage size such as 10Gi (Mi, Gi or Ti)"),
]
Email = Annotated[
    str,
    _pattern(r"[^@\s:]+@[^@\s:]+\.[a-z]{2,}", "an email address such as admin@example.com"),
]
MEMBER_PREFIXES = ("user:", "group:", "domain:", "serviceAccount:")


def _check_member(value: str) -> str:
    prefix, _, rest = value.partition(":")
    if f"{prefix}:" not in MEMBER_PREFIXES or not rest:
        raise ValueError(
            f"{value!r} is not an IAM member: expected one of "
            f"{', '.join(p + '...' for p in MEMBER_PREFIXES)}"
        )
    if prefix == "domain":
        if not _DOMAIN_RE.fullmatch(rest):
            raise ValueError(f"{value!r}: expected domain:<dns name>")
    elif not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", rest):
        raise ValueError(f"{value!r}: expected {prefix}:<email address>")
    return value


IamMember = Annotated[str, AfterValidator(_check_member)]

_DOMAIN_RE = re.compile(r"(?=.{1,200}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _check_domain(value: str) -> str:
    if "://" in value or "/" in value:
        raise ValueError(
            f"{value!r} has a scheme or path: expected a bare DNS name such as mlops.example.com"
        )
    if value != value.lower():
        raise ValueError(f"{value!r} has uppercase letters: expected a lowercase DNS name")
    if value.endswith("."):
        raise ValueError(
            f"{value!r} ends with a dot: expected mlops.example.com, not mlops.example.com."
        )
    if not _DOMAIN_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a DNS name: expected labels of letters, digits and "
            "hyphens separated by dots, such as mlops.example.com"
        )
    return value


DomainName = Annotated[str, AfterValidator(_check_domain)]


def _check_cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(
            f"{value!r} is not an IPv4 CIDR block such as 10.10.0.0/20 ({err})"
        ) from None
    if not network.is_private:
        raise ValueError(f"{value!r} is not a private (RFC 1918) range")
    return value


Cidr = Annotated[str, AfterValidator(_check_cidr)]


def _at_least(prefix_length: int, why: str) -> AfterValidator:
    """A CIDR block of /<prefix_length> or larger (for a valid Cidr only)."""

    def check(value: str) -> str:
        network = ipaddress.IPv4Network(value)
        if network.prefixlen > prefix_length:
            raise ValueError(
                f"{value!r} is a /{network.prefixlen}: {why} needs a /{prefix_length} or "
                f"larger range (prefix length at most {prefix_length}, "
                f"such as {network.supernet(new_prefix=prefix_length)})"
            )
        return value

    return AfterValidator(check)


#: Private Services Access: Google allocates Cloud SQL's private IPs from this
#: peered range and requires at least a /24.
PrivateServicesCidr = Annotated[Cidr, _at_least(24, "Private Services Access (Cloud SQL)")]


def field_error(path: str, message: str) -> ValueError:
    """An error raised by a model validator that belongs to one of its fields.

    Pydantic locates model-level errors at the model; the loader moves them to
    ``<model path>.<path>`` so the user sees the exact field.
    """
    return ValueError(f"{FIELD_MARK}{path}{FIELD_MARK}{message}")


FIELD_MARK = "\x1f"


def _unique(values: list[str]) -> list[str]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate entries: {', '.join(duplicates)}")
    return values


# --------------------------------------------------------------------------- sections


class AccessConfig(StrictModel):
    """Who may reach the platform, and how Argo CD signs them in."""

    iap_members: Annotated[list[IamMember], AfterValidator(_unique)] = Field(min_length=1)
    """Granted roles/iap.httpsResourceAccessor: who gets through the load balancer."""

    argocd_admins: Annotated[list[Email], AfterValidator(_unique)] = Field(default_factory=list)
    """Email addresses given the Argo CD role:admin."""

    argocd_default_role: Literal["none", "readonly"] = "none"
    """Role of every other signed-in user: none (see nothing) or readonly."""

    argocd_sign_in: Literal["iap", "google_oidc"] = "iap"
    """iap: sign in from the verified IAP identity (no OAuth client to make).
    google_oidc: Google OIDC with a client stored in Secret Manager."""

    bastion_members: Annotated[list[IamMember], AfterValidator(_unique)] = Field(
        default_factory=list
    )
    """Granted roles/iap.tunnelResourceAccessor (bastion mode only)."""


class NetworkConfig(StrictModel):
    """Address plan of the VPC. The ranges must not overlap."""

    subnet_cidr: Cidr = "10.10.0.0/20"
    pods_cidr: Cidr = "10.16.0.0/14"
    services_cidr: Cidr = "10.20.0.0/20"
    private_services_cidr: PrivateServicesCidr = "10.30.0.0/20"
    """Peered range for Google-managed services (Cloud SQL private IP): a /24 or larger."""

    @model_validator(mode="after")
    def _ranges_do_not_overlap(self) -> NetworkConfig:
        ranges = {
            "subnet_cidr": self.subnet_cidr,
            "pods_cidr": self.pods_cidr,
            "services_cidr": self.services_cidr,
            "private_services_cidr": self.private_services_cidr,
        }
        names = list(ranges)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                a = ipaddress.IPv4Network(ranges[first])
                b = ipaddress.IPv4Network(ranges[second])
                if a.overlaps(b):
                    raise field_error(
                        second, f"{b} overlaps {first} {a}: the four ranges must be disjoint"
                    )
        return self


class GpuConfig(StrictModel):
    type: Annotated[
        str, _pattern(r"nvidia-[a-z0-9-]+", "a GPU type such as nvidia-l4 or nvidia-tesla-t4")
    ]
    count: int = Field(default=1, ge=1, le=8)


class NodePoolConfig(StrictModel):
    name: DnsLabel
    machine_type: MachineType = "e2-standard-4"
    min_nodes: int = Field(default=1, ge=0, le=100)
    """Per zone: the pool keeps this many nodes in each of its zones. Default 1,
    and 0 for a GPU pool (GPUs are started when a server asks for one)."""
    max_nodes: int = Field(default=3, ge=1, le=100)
    """Per zone: the pool grows to at most this many nodes in each of its zones."""
    spot: bool = False
    disk_size_gb: int = Field(default=100, ge=20, le=2000)
    gpu: GpuConfig | None = None
    zones: Annotated[list[Zone], AfterValidator(_unique), Field(min_length=1)] | None = None
    """Zones of the region the pool runs in (node_locations). Default: every zone
    of the region. Required for a GPU pool: only the zones that offer its GPU."""

    @model_validator(mode="before")
    @classmethod
    def _gpu_pools_start_empty(cls, data: object) -> object:
        # An idle GPU costs the most: a GPU pool starts at 0 nodes unless set.
        if isinstance(data, dict) and data.get("gpu") is not None and "min_nodes" not in data:
            return {**data, "min_nodes": 0}
        return data

    @model_validator(mode="after")
    def _gpu_pools_name_their_zones(self) -> NodePoolConfig:
        if self.gpu is not None and self.zones is None:
            raise field_error(
                "zones",
                f"is required for a GPU pool: not every zone of a region offers {self.gpu.type}, "
                "and the pool fails to create in one that does not. List the zones that do "
                f'(gcloud compute accelerator-types list --filter="name={self.gpu.type}")',
            )
        return self

    @model_validator(mode="after")
    def _min_not_above_max(self) -> NodePoolConfig:
        if self.min_nodes > self.max_nodes:
            raise field_error(
                "min_nodes",
                f"{self.min_nodes} is greater than max_nodes ({self.max_nodes}): "
                "min_nodes must be <= max_nodes",
            )
        return self


def _default_node_pools() -> list[NodePoolConfig]:
    return [NodePoolConfig(name="general")]


class BastionConfig(StrictModel):
    machine_type: MachineType = "e2-micro"
    zone: Zone | None = None
    """Defaults to <region>-b, a zone that exists in nearly every region."""


class ClusterConfig(StrictModel):
    name: DnsLabel = "mlops"
    control_plane_access: Literal["dns", "bastion"] = "dns"
    """dns: DNS-based endpoint checked by IAM. bastion: private IP + IAP bastion."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    deletion_protection: bool = True
    node_pools: list[NodePoolConfig] = Field(default_factory=_default_node_pools, min_length=1)
    bastion: BastionConfig = BastionConfig()

    @field_validator("node_pools")
    @classmethod
    def _pool_names_unique(cls, pools: list[NodePoolConfig]) -> list[NodePoolConfig]:
        _unique([p.name for p in pools])
        return pools

    @property
    def has_gpu_pool(self) -> bool:
        return any(p.gpu is not None for p in self.node_pools)


class GitOpsConfig(StrictModel):
    """The team's own GitOps repository, synced by a root app-of-apps."""

    repo_url: Annotated[
        str,
        _pattern(
            r"(https://[^\s]+|git@[^\s:]+:[^\s]+|ssh://[^\s]+)",
            "an https://, ssh:// or git@host:org/repo.git URL",
        ),
    ]
    revision: Annotated[str, Field(min_length=1)] = "main"
    path: Annotated[
        str, _pattern(r"[^/\s][^\s]*|\.", "a relative path inside the repo, e.g. apps")
    ] = "apps"
    private: bool | None = None
    """Whether Argo CD needs credentials (stored in Secret Manager). Defaults to
    true for SSH URLs, false for https URLs."""

    @property
    def needs_credentials(self) -> bool:
        if self.private is not None:
            return self.private
        return not self.repo_url.startswith("https://")

    @model_validator(mode="after")
    def _ssh_needs_key(self) -> GitOpsConfig:
        if self.private is False and not self.repo_url.startswith("https://"):
            raise field_error(
                "private", "an SSH repo_url always needs a key: set private: true or use https://"
            )
        return self


def _check_values_file(value: str) -> str:
    if "/" in value or "\\" in value or not value.endswith((".yaml", ".yml")):
        raise ValueError(f"{value!r}: expected a file name inside helm-values/, such as myapp.yaml")
    if not (HELM_VALUES_DIR / value).is_file():
        raise ValueError(f"helm-values/{value} does not exist")
    return value


ValuesFile = Annotated[str, AfterValidator(_check_values_file)]
ChartRepo = Annotated[
    str, _pattern(r"(https|oci)://[^\s]+", "an https:// or oci:// Helm repository URL")
]


ChartName = Annotated[str, _pattern(r"[a-z0-9][a-z0-9._-]*", "a chart name")]
Port = Annotated[int, Field(ge=1, le=65535)]


class AppConfig(StrictModel):
    """A Helm chart that Argo CD runs at <host>.<domain> behind IAP."""

    enabled: bool = True
    chart_repo: ChartRepo
    chart: ChartName
    chart_version: ChartVersion
    values_file: ValuesFile
    host: DnsLabel | None = None
    """Subdomain; defaults to the app's key."""
    namespace: DnsLabel | None = None
    """Defaults to the app's key."""
    service: DnsLabel
    """The chart's Service that the gateway routes to."""
    service_port: Port
    trusts_identity_header: bool = False
    """The app signs users in from the x-iap-user-email header the gateway writes
    from the verified IAP token. Then only the gateway may reach the app's
    namespace (no pod-to-pod traffic inside it); otherwise the gateway and the
    app's own namespace may."""


class JupyterHubConfig(AppConfig):
    chart_repo: ChartRepo = "https://hub.jupyter.org/helm-chart/"
    chart: ChartName = "jupyterhub"
    chart_version: ChartVersion = "4.4.0"
    values_file: ValuesFile = "jupyterhub.yaml"
    service: DnsLabel = "proxy-public"
    service_port: Port = 80
    trusts_identity_header: Literal[True] = True
    """Always: the hub signs users in from the gateway's identity header."""
    storage_size: KubernetesQuantity = "10Gi"
    """Per-user persistent volume."""
    admin_users: Annotated[list[Email], AfterValidator(_unique)] = Field(default_factory=list)
    cull_idle_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    """Stop a user's server after this long without activity."""


class MlflowDatabaseConfig(StrictModel):
    tier: Annotated[
        str, _pattern(r"db-[a-z0-9-]+", "a Cloud SQL tier such as db-custom-1-3840")
    ] = "db-custom-1-3840"
    high_availability: bool = False
    disk_size_gb: int = Field(default=20, ge=10, le=10000)
    deletion_protection: bool = True


class MlflowConfig(AppConfig):
    chart_repo: ChartRepo = "https://community-charts.github.io/helm-charts"
    chart: ChartName = "mlflow"
    chart_version: ChartVersion = "1.11.5"
    values_file: ValuesFile = "mlflow.yaml"
    service: DnsLabel = "mlflow"
    service_port: Port = 80
    trusts_identity_header: Literal[False] = False
    """Never: MLflow has no sign-in; the gateway and notebooks may reach it."""
    database: MlflowDatabaseConfig = MlflowDatabaseConfig()
    artifact_retention_days: int | None = Field(default=None, ge=1)
    """Delete noncurrent artifact versions after this many days (None keeps them)."""


class AppsConfig(StrictModel):
    """Built-in apps plus any number of extra chart apps keyed by name."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)
    __pydantic_extra__: dict[str, AppConfig]

    jupyterhub: JupyterHubConfig = JupyterHubConfig(enabled=True)
    mlflow: MlflowConfig = MlflowConfig(enabled=True)

    @model_validator(mode="after")
    def _extra_names_are_labels(self) -> AppsConfig:
        for name in self.__pydantic_extra__ or {}:
            if not re.fullmatch(r"[a-z]([-a-z0-9]{0,38}[a-z0-9])?", name):
                raise field_error(name, "an app name must be a lowercase DNS label (a-z, 0-9, '-')")
        return self

    def enabled(self) -> dict[str, AppConfig]:
        """Enabled apps by name, built-ins first, then extras in file order."""
        everything: dict[str, AppConfig] = {"jupyterhub": self.jupyterhub, "mlflow": self.mlflow}
        everything.update(self.__pydantic_extra__ or {})
        return {name: app for name, app in everything.items() if app.enabled}


class IngressConfig(StrictModel):
    """The gateway's backend service on Google's load balancer (BackendConfig)."""

    backend_timeout_seconds: int = Field(default=3600, ge=3600, le=86400)
    """Longest a request, and a WebSocket (JupyterLab kernels and terminals, Argo
    CD streams), lives on the load balancer; Google's default, 30 s, drops them."""
    connection_draining_seconds: int = Field(default=60, ge=0, le=3600)
    """How long a gateway pod leaving the NEG keeps its open connections (0 = off)."""


class DnsConfig(StrictModel):
    managed_zone: (
        Annotated[str, _pattern(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", "a Cloud DNS zone name")] | None
    ) = None
    """Cloud DNS zone (in project_id) that serves `domain`. None: create the
    records yourself; the network stack prints them."""


class PlatformConfig(StrictModel):
    """Root of config/<name>.yaml."""

    environment: Environment
    project_id: ProjectId
    region: Region
    state_bucket: BucketName
    domain: DomainName
    labels: dict[
        Annotated[str, _pattern(r"[a-z][a-z0-9_-]{0,62}", "a GCP label key")],
        Annotated[str, _pattern(r"[a-z0-9_-]{0,63}", "a GCP label value (lowercase)")],
    ] = Field(default_factory=dict)
    access: AccessConfig
    network: NetworkConfig = NetworkConfig()
    cluster: ClusterConfig = ClusterConfig()
    gitops: GitOpsConfig
    apps: AppsConfig = AppsConfig()
    dns: DnsConfig = DnsConfig()
    ingress: IngressConfig = IngressConfig()

    @model_validator(mode="after")
    def _cross_field_rules(self) -> PlatformConfig:
        if self.cluster.control_plane_access == "bastion" and not self.access.bastion_members:
            raise field_error(
                "access.bastion_members",
                "is empty but cluster.control_plane_access is bastion: list who may "
                "open the IAP tunnel (user:/group:/serviceAccount: members)",
            )
        hosts: dict[str, str] = {}
        for name, app in self.apps.enabled().items():
            host = app.host or name
            if host in RESERVED_HOSTS:
                raise field_error(f"apps.{name}.host", f"{host!r} is reserved for the platform")
            if host in hosts:
                raise field_error(
                    f"apps.{name}.host", f"{host!r} is already used by apps.{hosts[host]}"
                )
            hosts[host] = name
        gke_name = self.name("gke")
        if len(gke_name) > MAX_GKE_CLUSTER_NAME:
            raise field_error(
                "cluster.name",
                f"names the GKE cluster {gke_name!r} ({len(gke_name)} characters) together "
                f"with environment {self.environment!r}; GKE allows at most "
                f"{MAX_GKE_CLUSTER_NAME}, so cluster.name and environment may have at most "
                f"{MAX_GKE_CLUSTER_NAME - len('--gke')} characters together",
            )
        if self.apps.mlflow.enabled and len(self.mlflow_bucket_name) > MAX_BUCKET_NAME:
            raise field_error(
                "environment",
                f"makes MLflow's artifact bucket name {self.mlflow_bucket_name!r} "
                f"{len(self.mlflow_bucket_name)} characters long; GCS allows at most "
                f"{MAX_BUCKET_NAME}: use a shorter environment",
            )
        if len(self.certificate_domains) > MAX_CERTIFICATE_DOMAINS:
            raise field_error(
                "apps",
                f"{len(self.certificate_domains)} certificate domains (apex, argocd and "
                f"one per enabled app): a Google-managed certificate allows at most "
                f"{MAX_CERTIFICATE_DOMAINS}",
            )
        return self

    @model_validator(mode="after")
    def _pool_zones_in_region(self) -> PlatformConfig:
        for i, pool in enumerate(self.cluster.node_pools):
            for j, zone in enumerate(pool.zones or []):
                if not zone.startswith(f"{self.region}-"):
                    raise field_error(
                        f"cluster.node_pools[{i}].zones[{j}]",
                        f"{zone!r} is not in region {self.region}: expected a zone such as "
                        f"{self.region}-a (the cluster and its nodes are in the region)",
                    )
        return self

    # ---- derived values, computed once here so stacks never recompute them

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
        """Apex, Argo CD and every enabled app: what the managed cert covers."""
        return [self.domain, self.argocd_host, *self.app_hosts.values()]

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
