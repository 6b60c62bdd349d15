"""The platform's public interface: one YAML file, validated by these models.

Every optional field has a secure default. Unknown keys are errors, so a typo
(``deletion_protecton``) fails loudly instead of silently keeping a default.
This module imports nothing from cdktf: a bad config is rejected before the
multi-second jsii load of the provider packages.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from platform_config import types as t
from platform_config.types import (
    BucketName,
    ChartName,
    ChartVersion,
    DnsLabel,
    DnsZoneName,
    DomainName,
    Email,
    Environment,
    GitRevision,
    GpuType,
    IamMember,
    KubernetesQuantity,
    LabelKey,
    LabelValue,
    MachineType,
    NamespaceGlob,
    ProjectId,
    Region,
    RepoPath,
    SqlTier,
    ValuesFileName,
    Zone,
)
from platform_config.yaml_reader import YamlError, clip, parse_yaml, read_text_file, shown

#: helm-values/ lives next to this package; app entries name files inside it.
HELM_VALUES_DIR = Path(__file__).resolve().parent.parent / "helm-values"
#: A Helm values file is hand-written YAML of a few KB.
MAX_VALUES_FILE_BYTES = 256 * 1024

#: Host names the platform itself uses under the domain; apps cannot take them.
RESERVED_HOSTS = frozenset({"argocd"})
#: Namespaces apps cannot take: Kubernetes' and GKE's own, and every namespace
#: the platform installs into (an app next to External Secrets would sit next
#: to the identity that reads Secret Manager).
RESERVED_NAMESPACES = frozenset(
    {"default", "istio-system", "istio-ingress", "external-secrets", "argocd"}
)
RESERVED_NAMESPACE_PREFIXES = ("kube-", "gke-", "gmp-")
#: App keys the platform uses for its own Argo CD Applications and construct ids
#: (the root app-of-apps is `app-root`; Argo CD manages itself).
RESERVED_APP_KEYS = frozenset({"root", "argocd", "argo-cd"})
#: Label keys the platform sets itself (a config value would be overwritten).
RESERVED_LABEL_KEYS = frozenset({"managed-by", "environment", "pool"})
RESERVED_LABEL_PREFIXES = ("goog",)

#: One Google-managed certificate per host, and a load balancer's target HTTPS
#: proxy holds at most 15 certificates: apex, argocd and 13 apps.
MAX_CERTIFICATE_DOMAINS = 15
#: A GKE ManagedCertificate's domain has at most 63 characters (its CRD).
MAX_CERTIFICATE_DOMAIN_LENGTH = 63
#: GKE cluster names (<cluster.name>-<environment>-gke) have at most 40 characters.
MAX_GKE_CLUSTER_NAME = 40
#: GCS bucket names (MLflow's <project_id>-<environment>-mlflow-artifacts): at most 63.
MAX_BUCKET_NAME = 63


class StrictModel(BaseModel):
    """Base for every config section: unknown keys rejected, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


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
        raise ValueError(f"duplicate entries: {clip(', '.join(duplicates))}")
    return values


def slug(value: str) -> str:
    """`group:ml-team@example.com` -> `group-ml-team-example-com`.

    Construct ids of per-member resources, so adding or removing one member
    never renumbers (and so re-creates) the others. Not injective
    (`a.b` and `a-b` give the same slug): the config rejects two entries
    whose slugs collide (`_slugs_unique`).
    """
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _slugs_unique(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        key = slug(value)
        if key in seen and seen[key] != value:
            raise ValueError(
                f"{shown(seen[key])} and {shown(value)} differ only in punctuation; their "
                f"resources would share the Terraform address {key!r}: keep one of them"
            )
        seen[key] = value
    return values


# --------------------------------------------------------------------------- value checks


def _check_cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(
            f"{shown(value)} is not an IPv4 CIDR block such as 10.10.0.0/20 ({err})"
        ) from None
    if not network.is_private:
        raise ValueError(f"{shown(value)} is not a private (RFC 1918) range")
    return value


Cidr = Annotated[
    str,
    t.rule(
        r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/[0-9]{1,2}",
        "a private IPv4 CIDR block such as 10.10.0.0/20",
    ),
    AfterValidator(_check_cidr),
]


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

_HOST = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)+"
_URL_PATH = r"(?:/[A-Za-z0-9._~+-]+)*/?"


def _check_url(value: str, schemes: tuple[str, ...], *, user_allowed: bool) -> str:
    """Parse the URL (urllib) and check each part; the pattern only pre-filters."""
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ValueError(f"{shown(value)}: the scheme must be one of {', '.join(schemes)}")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(f"{shown(value)}: no query (?...) or fragment (#...) allowed")
    if parts.password is not None or (parts.username is not None and not user_allowed):
        raise ValueError(
            f"{shown(value)}: no user or password in the URL; credentials belong "
            "in Secret Manager (gitops.private)"
        )
    host = parts.hostname or ""
    if not re.fullmatch(_HOST, host) or host != parts.netloc.rsplit("@", 1)[-1].split(":")[0]:
        raise ValueError(f"{shown(value)}: the host must be a lowercase DNS name")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{shown(value)}: the port must be 1-65535") from None
    if port == 0:
        raise ValueError(f"{shown(value)}: the port must be 1-65535")
    if ".." in parts.path.split("/"):
        raise ValueError(f"{shown(value)}: the path may not contain '..'")
    return value


HttpsOrOciUrl = Annotated[
    str,
    t.rule(
        rf"(?:https|oci)://{_HOST}(?::[0-9]{{1,5}})?{_URL_PATH}",
        "an https:// or oci:// Helm repository URL such as https://charts.example.com/stable "
        "(no user, query or fragment)",
        max_length=300,
    ),
    AfterValidator(lambda value: _check_url(value, ("https", "oci"), user_allowed=False)),
]


def _check_repo_url(value: str) -> str:
    if value.startswith("https://"):
        return _check_url(value, ("https",), user_allowed=False)
    if value.startswith("ssh://"):
        return _check_url(value, ("ssh",), user_allowed=True)
    # scp-like git@host:org/repo.git: rewritten as ssh:// to parse it the same way.
    user, _, rest = value.partition("@")
    host, _, path = rest.partition(":")
    _check_url(f"ssh://{user}@{host}/{path}", ("ssh",), user_allowed=True)
    return value


GitRepoUrl = Annotated[
    str,
    t.rule(
        rf"https://{_HOST}(?::[0-9]{{1,5}})?{_URL_PATH}"
        rf"|ssh://(?:[a-z0-9_][a-z0-9._-]{{0,31}}@)?{_HOST}(?::[0-9]{{1,5}})?{_URL_PATH}"
        rf"|[a-z0-9_][a-z0-9._-]{{0,31}}@{_HOST}:[A-Za-z0-9._~+-]+(?:/[A-Za-z0-9._~+-]+)*",
        "an https://, ssh:// or git@host:org/repo.git URL (no password, query or fragment)",
        max_length=300,
    ),
    AfterValidator(_check_repo_url),
]


def _check_values_file(value: str) -> str:
    """The file exists in helm-values/ and is bounded YAML holding a mapping.

    Read here so a broken values file fails check-config, not synth. The
    cdktf token marker is refused: nothing but code may reference Terraform.
    A file named by several apps is read once.
    """
    path = HELM_VALUES_DIR / value
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ValueError(f"helm-values/{value} does not exist") from None
    except OSError as err:
        raise ValueError(f"helm-values/{value}: cannot read it ({err.strerror})") from None
    problem = _values_file_problem(str(path), info.st_mtime_ns, info.st_size)
    if problem is not None:
        raise ValueError(f"helm-values/{value}{problem}")
    return value


@functools.lru_cache(maxsize=64)
def _values_file_problem(path: str, _mtime_ns: int, _size: int) -> str | None:
    """What is wrong with a values file (cached per version of the file), or None."""
    try:
        text = read_text_file(Path(path), max_bytes=MAX_VALUES_FILE_BYTES)
        data = parse_yaml(text)
    except FileNotFoundError:
        return " does not exist"
    except YamlError as err:
        return f": {err}"
    if data is not None and not isinstance(data, dict):
        return " must hold a mapping of Helm values"
    if "TfToken[" in text:
        return " contains a cdktf token marker ('TfToken[')"
    return None


ValuesFile = Annotated[ValuesFileName, AfterValidator(_check_values_file)]
Port = Annotated[int, Field(ge=1, le=65535, description="A TCP port, 1-65535.")]


# --------------------------------------------------------------------------- sections


class AccessConfig(StrictModel):
    """Who may reach the platform, and how Argo CD signs them in."""

    iap_members: Annotated[
        list[IamMember], AfterValidator(_unique), AfterValidator(_slugs_unique)
    ] = Field(min_length=1, max_length=500)
    """Granted roles/iap.httpsResourceAccessor: who gets through the load balancer."""

    argocd_admins: Annotated[list[Email], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=500
    )
    """Email addresses given the Argo CD role:admin."""

    argocd_default_role: Literal["none", "readonly"] = "none"
    """Role of every other signed-in user: none (see nothing) or readonly."""

    argocd_sign_in: Literal["iap", "google_oidc"] = "iap"
    """iap: sign in from the verified IAP identity (no OAuth client to make).
    google_oidc: Google OIDC with a client stored in Secret Manager."""

    bastion_members: Annotated[
        list[IamMember], AfterValidator(_unique), AfterValidator(_slugs_unique)
    ] = Field(default_factory=list, max_length=500)
    """Granted roles/iap.tunnelResourceAccessor (bastion mode only)."""


class NetworkConfig(StrictModel):
    """Address plan of the VPC. The ranges must not overlap."""

    subnet_cidr: Cidr = "10.10.0.0/20"
    """Nodes and bastion; the only network authorized on the control plane."""
    pods_cidr: Cidr = "10.16.0.0/14"
    """Secondary range `pods`."""
    services_cidr: Cidr = "10.20.0.0/20"
    """Secondary range `services`."""
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
    """Accelerators attached to every node of the pool."""

    type: GpuType
    """GPU type such as nvidia-l4."""
    count: int = Field(default=1, ge=1, le=8)
    """GPUs per node."""


class NodePoolConfig(StrictModel):
    """One autoscaled node pool."""

    name: DnsLabel
    """Pool name (a DNS label)."""
    machine_type: MachineType = "e2-standard-4"
    """Compute Engine machine type."""
    min_nodes: int = Field(default=1, ge=0, le=100)
    """Per zone: the pool keeps this many nodes in each of its zones. Default 1,
    and 0 for a GPU pool (GPUs are started when a server asks for one)."""
    max_nodes: int = Field(default=3, ge=1, le=100)
    """Per zone: the pool grows to at most this many nodes in each of its zones."""
    spot: bool = False
    """Spot VMs (cheaper, may be preempted)."""
    disk_size_gb: int = Field(default=100, ge=20, le=2000)
    """Boot disk (pd-balanced) per node."""
    gpu: GpuConfig | None = None
    """GPUs per node; such a pool gets the driver and a NoSchedule taint."""
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
    """The IAP bastion VM (bastion mode only)."""

    machine_type: MachineType = "e2-micro"
    """Compute Engine machine type of the bastion."""
    zone: Zone | None = None
    """A zone of `region`; defaults to <region>-b, a zone that exists in nearly every region."""


class ClusterConfig(StrictModel):
    """The private GKE cluster."""

    name: DnsLabel = "mlops"
    """Name prefix of the cluster and its resources: <name>-<environment>-gke, ..."""
    control_plane_access: Literal["dns", "bastion"] = "dns"
    """dns: DNS-based endpoint checked by IAM. bastion: private IP + IAP bastion."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    """GKE release channel."""
    deletion_protection: bool = True
    """Terraform refuses to delete the cluster while true."""
    node_pools: list[NodePoolConfig] = Field(
        default_factory=_default_node_pools, min_length=1, max_length=50
    )
    """Node pools; names unique."""
    bastion: BastionConfig = BastionConfig()
    """The bastion VM (bastion mode only)."""

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
    namespaces: Annotated[list[NamespaceGlob], AfterValidator(_unique)] = Field(
        default_factory=lambda: ["team-*"], min_length=1, max_length=50
    )
    """Namespaces the team's Applications may deploy into: names, or prefixes
    ending in '*'. None may reach a namespace of Kubernetes (kube-*, gke-*, gmp-*,
    default), of the platform (istio-system, istio-ingress, external-secrets,
    argocd) or of an enabled app. applications_namespace is always allowed."""
    cluster_resources: bool = False
    """Whether the team's Applications may create cluster-scoped objects
    (ClusterRoles, CRDs, webhooks, Namespaces...). Off: namespaced objects only."""

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


class AppConfig(StrictModel):
    """A Helm chart that Argo CD runs at <host>.<domain> behind IAP."""

    enabled: bool = True
    """Whether Argo CD runs the app."""
    chart_repo: HttpsOrOciUrl
    """Helm repository (https:// or oci://)."""
    chart: ChartName
    """Chart name in the repository."""
    chart_version: ChartVersion
    """Exact chart version (x.y.z[-pre])."""
    values_file: ValuesFile
    """File name inside helm-values/ (must exist and hold a YAML mapping)."""
    host: DnsLabel | None = None
    """Subdomain; defaults to the app's key."""
    namespace: DnsLabel | None = None
    """Kubernetes namespace; defaults to the app's key."""
    service: DnsLabel
    """The chart's Service that the gateway routes to."""
    service_port: Port
    """Port of that Service."""
    trusts_identity_header: bool = False
    """The app signs users in from the x-iap-user-email header the gateway writes
    from the verified IAP token. Then only the gateway may reach the app's
    namespace (no pod-to-pod traffic inside it); otherwise the gateway and the
    app's own namespace may."""


class JupyterHubConfig(AppConfig):
    """JupyterHub (built-in)."""

    chart_repo: HttpsOrOciUrl = "https://hub.jupyter.org/helm-chart/"
    chart: ChartName = "jupyterhub"
    chart_version: ChartVersion = "4.4.0"
    values_file: ValuesFile = "jupyterhub.yaml"
    service: DnsLabel = "proxy-public"
    service_port: Port = 80
    trusts_identity_header: Literal[True] = True
    """Always: the hub signs users in from the gateway's identity header."""
    storage_size: KubernetesQuantity = "10Gi"
    """Per-user persistent volume."""
    admin_users: Annotated[list[Email], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=500
    )
    """Emails of JupyterHub admins."""
    cull_idle_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    """Stop a user's server after this long without activity."""


class MlflowDatabaseConfig(StrictModel):
    """MLflow's Cloud SQL for PostgreSQL instance."""

    tier: SqlTier = "db-custom-1-3840"
    """Cloud SQL machine tier."""
    high_availability: bool = False
    """REGIONAL (true) or ZONAL (false) availability."""
    disk_size_gb: int = Field(default=20, ge=10, le=10000)
    """Initial disk size (autoresize on)."""
    deletion_protection: bool = True
    """Refuse to delete the instance while true."""


class MlflowConfig(AppConfig):
    """MLflow tracking server (built-in)."""

    chart_repo: HttpsOrOciUrl = "https://community-charts.github.io/helm-charts"
    chart: ChartName = "mlflow"
    chart_version: ChartVersion = "1.11.5"
    values_file: ValuesFile = "mlflow.yaml"
    service: DnsLabel = "mlflow"
    service_port: Port = 80
    trusts_identity_header: Literal[False] = False
    """Never: MLflow has no sign-in; the gateway and notebooks may reach it."""
    database: MlflowDatabaseConfig = MlflowDatabaseConfig()
    """The backend store."""
    artifact_retention_days: int | None = Field(default=None, ge=1, le=36500)
    """Delete noncurrent artifact versions after this many days (None keeps them)."""


#: Apps listed in the config, enabled or not.
MAX_APPS = 50
APP_KEY_PATTERN = r"^(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)$"


class AppsConfig(StrictModel):
    """Built-in apps plus extra chart apps keyed by name (at most 50 in all)."""

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        use_attribute_docstrings=True,
        json_schema_extra={
            "propertyNames": {"pattern": APP_KEY_PATTERN},
            "maxProperties": MAX_APPS,
        },
    )
    __pydantic_extra__: dict[str, AppConfig]

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        # Before validating each app (which reads its values file): a bound.
        if isinstance(data, dict) and len(data) > MAX_APPS:
            raise ValueError(
                f"{len(data)} apps: at most {MAX_APPS} (enabled or not; the load balancer "
                f"serves at most {MAX_CERTIFICATE_DOMAINS - 2} enabled ones)"
            )
        return data

    jupyterhub: JupyterHubConfig = JupyterHubConfig(enabled=True)
    """JupyterHub at jupyterhub.<domain>."""
    mlflow: MlflowConfig = MlflowConfig(enabled=True)
    """MLflow at mlflow.<domain>."""

    @model_validator(mode="after")
    def _extra_names_are_labels(self) -> AppsConfig:
        for name in self.__pydantic_extra__ or {}:
            if not re.fullmatch(APP_KEY_PATTERN, name):
                raise field_error(
                    _key_path(name),
                    "an app name must be a lowercase DNS label of at most 40 characters "
                    "(a-z, 0-9, '-'), starting with a letter",
                )
            if name in RESERVED_APP_KEYS:
                raise field_error(
                    name,
                    f"the app name {name!r} is reserved for the platform "
                    f"({', '.join(sorted(RESERVED_APP_KEYS))})",
                )
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
    """Optional Cloud DNS records for the domain."""

    managed_zone: DnsZoneName | None = None
    """Cloud DNS zone (in project_id) that serves `domain`. None: create the
    records yourself; the network stack prints them."""


# --------------------------------------------------------------------------- derived names

#: Service account ids: 6-30 characters, lowercase letters, digits and '-'.
SERVICE_ACCOUNT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
#: Compute Engine / Cloud SQL resource names.
GCE_NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
#: Secret Manager secret ids.
SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
#: GCS bucket names; Google also refuses names that start with "goog" or
#: contain "google" (checked separately: no look-ahead in schema patterns).
GCS_BUCKET = re.compile(r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]")


def _not_google(value: str) -> str:
    if value.startswith("goog") or "google" in value:
        raise ValueError(
            f"{shown(value)}: GCS refuses bucket names that start with 'goog' or contain 'google'"
        )
    return value


def namespace_glob_clash(glob: str, forbidden: frozenset[str]) -> str | None:
    """The first of `forbidden` that some namespace matching `glob` also matches.

    Both sides are names or name prefixes ending in '*' (NamespaceGlob): two
    prefixes overlap when one starts with the other.
    """

    def family(entry: str) -> tuple[str, bool]:
        return (entry[:-1], True) if entry.endswith("*") else (entry, False)

    prefix, open_ = family(glob)
    for entry in sorted(forbidden):
        other, other_open = family(entry)
        if (
            (not open_ and not other_open and prefix == other)
            or (open_ and not other_open and other.startswith(prefix))
            or (not open_ and other_open and prefix.startswith(other))
            or (open_ and other_open and (prefix.startswith(other) or other.startswith(prefix)))
        ):
            return f"the namespace {entry!r}" if not other_open else f"the namespaces {entry}"
    return None


@dataclass(frozen=True, kw_only=True)
class DerivedName:
    """A name the stacks use, computed from config fields, with its rule."""

    value: str
    rule: re.Pattern[str]
    max_length: int
    what: str
    """What it names and which rule applies, for the error message."""
    field: str
    """The config field to shorten when the name does not fit."""


@dataclass(frozen=True, kw_only=True)
class PlatformNames:
    """Every generated resource name, computed once (stacks never derive names)."""

    gke_cluster: str
    vpc: str
    ingress_ip: str
    private_services: str
    webhook_firewall: str
    node_service_account: str
    bastion: str
    """The bastion VM and its service account id (bastion mode)."""
    external_secrets_service_account: str
    mlflow: str
    """MLflow's service account id and its Cloud SQL instance."""
    mlflow_bucket: str
    repo_credentials_secret: str
    oidc_client_secret: str


def _key_path(key: str) -> str:
    """A mapping key as a field-path part: plain keys as is, others quoted (and cut)."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
        return key
    return f"[{shown(key, 80)}]"


def _string_problem(value: str) -> str | None:
    char = t.unprintable_in(value)
    if char is not None:
        return (
            f"contains {char!r}: config values are printable ASCII only (no control, "
            "non-ASCII, look-alike or zero-width characters)"
        )
    opener = t.template_syntax_in(value)
    if opener is not None:
        return (
            f"contains {opener!r}, Terraform template syntax: config values are data "
            "and may not contain '${' or '%{'"
        )
    return None


def _first_unsafe(data: Any, path: str) -> tuple[str, str] | None:
    """(field path, problem) of the first string that can never be config data."""
    found: tuple[str, str] | None = None
    if isinstance(data, str):
        problem = _string_problem(data)
        found = (path, problem) if problem is not None else None
    elif isinstance(data, dict):
        for key, value in data.items():
            sub = f"{path}.{_key_path(str(key))}" if path else _key_path(str(key))
            if not isinstance(key, str):
                return sub, f"the key {shown(key, 80)} is not text"
            found = _first_unsafe(key, sub) or _first_unsafe(value, sub)
            if found is not None:
                break
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found = _first_unsafe(item, f"{path}[{index}]")
            if found is not None:
                break
    return found


class PlatformConfig(StrictModel):
    """Root of config/<name>.yaml."""

    environment: Environment
    """State prefix <environment>/<stack> and name suffix; label `environment`."""
    project_id: ProjectId
    """Google Cloud project where everything is created."""
    region: Region
    """Region of the cluster, subnet, Cloud SQL, bucket and secret replicas."""
    state_bucket: Annotated[BucketName, AfterValidator(_not_google)]
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
    apps: AppsConfig = AppsConfig()
    """Apps Argo CD runs behind IAP."""
    dns: DnsConfig = DnsConfig()
    """Optional Cloud DNS records."""
    ingress: IngressConfig = IngressConfig()
    """The load balancer's backend settings."""

    @model_validator(mode="before")
    @classmethod
    def _data_never_code(cls, data: Any) -> Any:
        """No string anywhere (keys included) may carry template syntax or odd characters.

        The field types already refuse these characters; this walk also covers
        keys, unknown keys and any future field, and says what is wrong plainly.
        """
        found = _first_unsafe(data, "")
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

    @model_validator(mode="after")
    def _cross_field_rules(self) -> PlatformConfig:
        if self.cluster.control_plane_access == "bastion" and not self.access.bastion_members:
            raise field_error(
                "access.bastion_members",
                "is empty but cluster.control_plane_access is bastion: list who may "
                "open the IAP tunnel (user:/group:/serviceAccount: members)",
            )
        zone = self.cluster.bastion.zone
        if zone is not None and not zone.startswith(f"{self.region}-"):
            raise field_error(
                "cluster.bastion.zone",
                f"{zone!r} is not in region {self.region!r}: use a zone such as {self.region}-b",
            )
        self._check_apps()
        self._check_gitops_lane()
        self._check_names()
        if len(self.certificate_domains) > MAX_CERTIFICATE_DOMAINS:
            raise field_error(
                "apps",
                f"{len(self.certificate_domains)} hosts (apex, argocd and one per enabled app) "
                f"need as many certificates; the load balancer holds at most "
                f"{MAX_CERTIFICATE_DOMAINS}: at most {MAX_CERTIFICATE_DOMAINS - 2} enabled apps",
            )
        certified_hosts = {
            "domain": [self.domain, self.argocd_host],
            **{f"apps.{name}.host": [host] for name, host in self.app_hosts.items()},
        }
        for field, field_hosts in certified_hosts.items():
            for host in field_hosts:
                if len(host) > MAX_CERTIFICATE_DOMAIN_LENGTH:
                    raise field_error(
                        field,
                        f"makes the host {host!r} ({len(host)} characters); a Google-managed "
                        f"certificate's domain has at most {MAX_CERTIFICATE_DOMAIN_LENGTH}",
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

    def _check_gitops_lane(self) -> None:
        """The team's namespaces (the AppProject's destinations) reach no namespace
        of Kubernetes, of the platform or of an app (docs/architecture.md)."""
        entries = [
            ("gitops.applications_namespace", self.gitops.applications_namespace),
            *((f"gitops.namespaces[{i}]", glob) for i, glob in enumerate(self.gitops.namespaces)),
        ]
        for path, glob in entries:
            clash = namespace_glob_clash(glob, self.platform_namespaces)
            if clash is not None:
                raise field_error(
                    path,
                    f"{glob!r} would let the team's Applications into {clash}, which belongs "
                    "to Kubernetes or the platform: name namespaces of the team's own "
                    "(e.g. team-*)",
                )

    @property
    def platform_namespaces(self) -> frozenset[str]:
        """Namespaces (and, ending in '*', families) the team's project never reaches."""
        return (
            RESERVED_NAMESPACES
            | {prefix + "*" for prefix in RESERVED_NAMESPACE_PREFIXES}
            | set(self.app_namespaces.values())
        )

    def _check_apps(self) -> None:
        hosts: dict[str, str] = {}
        namespaces: dict[str, str] = {}
        for name, app in self.apps.enabled().items():
            host = app.host or name
            where = "host" if app.host else "host (the app's name)"
            if host in RESERVED_HOSTS:
                raise field_error(
                    f"apps.{name}.host", f"{where} {host!r} is reserved for the platform"
                )
            if host in hosts:
                raise field_error(
                    f"apps.{name}.host", f"{where} {host!r} is already used by apps.{hosts[host]}"
                )
            hosts[host] = name
            namespace = app.namespace or name
            where = "namespace" if app.namespace else "namespace (the app's name)"
            if namespace in RESERVED_NAMESPACES or namespace.startswith(
                RESERVED_NAMESPACE_PREFIXES
            ):
                raise field_error(
                    f"apps.{name}.namespace",
                    f"{where} {namespace!r} is reserved (Kubernetes, GKE or the platform: "
                    f"{', '.join(sorted(RESERVED_NAMESPACES))}, "
                    f"{', '.join(p + '*' for p in RESERVED_NAMESPACE_PREFIXES)}); "
                    "set apps.<name>.namespace to a namespace of its own",
                )
            if namespace in namespaces:
                raise field_error(
                    f"apps.{name}.namespace",
                    f"{where} {namespace!r} is already used by apps.{namespaces[namespace]}: "
                    "each app gets a namespace of its own",
                )
            namespaces[namespace] = name

    def _derived_names(self) -> list[DerivedName]:
        names = self.names
        checked = [
            DerivedName(
                value=names.gke_cluster,
                rule=GCE_NAME,
                max_length=MAX_GKE_CLUSTER_NAME,
                what="the GKE cluster name",
                field="cluster.name",
            ),
            DerivedName(
                value=names.node_service_account,
                rule=SERVICE_ACCOUNT_ID,
                max_length=30,
                what="the node service account id",
                field="cluster.name",
            ),
            DerivedName(
                value=names.webhook_firewall,
                rule=GCE_NAME,
                max_length=63,
                what="the webhook firewall rule name",
                field="cluster.name",
            ),
            DerivedName(
                value=names.external_secrets_service_account,
                rule=SERVICE_ACCOUNT_ID,
                max_length=30,
                what="the External Secrets service account id",
                field="environment",
            ),
            DerivedName(
                value=names.repo_credentials_secret,
                rule=SECRET_ID,
                max_length=255,
                what="a Secret Manager secret id",
                field="environment",
            ),
        ]
        if self.bastion_mode:
            checked.append(
                DerivedName(
                    value=names.bastion,
                    rule=SERVICE_ACCOUNT_ID,
                    max_length=30,
                    what="the bastion's service account id",
                    field="cluster.name",
                )
            )
        if self.apps.mlflow.enabled:
            checked += [
                DerivedName(
                    value=names.mlflow,
                    rule=SERVICE_ACCOUNT_ID,
                    max_length=30,
                    what="MLflow's service account id and Cloud SQL instance",
                    field="environment",
                ),
                DerivedName(
                    value=names.mlflow_bucket,
                    rule=GCS_BUCKET,
                    max_length=MAX_BUCKET_NAME,
                    what="MLflow's artifact bucket name",
                    field="environment",
                ),
            ]
        return checked

    def _check_names(self) -> None:
        """Every derived name fits its rule as is: nothing is truncated later."""
        for name in self._derived_names():
            together = (
                "cluster.name and environment" if name.field == "cluster.name" else "environment"
            )
            excess = len(name.value) - name.max_length
            if excess > 0:
                raise field_error(
                    name.field,
                    f"makes {name.what} {name.value!r} {len(name.value)} characters long; "
                    f"Google allows at most {name.max_length}: shorten {together} by "
                    f"{excess} characters",
                )
            if name.rule is GCS_BUCKET and (
                name.value.startswith("goog") or "google" in name.value
            ):
                raise field_error(
                    "project_id",
                    f"makes {name.what} {name.value!r}, which GCS refuses (it contains "
                    "'google' or starts with 'goog'): MLflow's bucket cannot be created",
                )
            if not name.rule.fullmatch(name.value):
                raise field_error(
                    name.field,
                    f"makes {name.what} {name.value!r}, which is not a valid name "
                    f"(pattern {name.rule.pattern}): change {together}",
                )

    # ---- derived values, computed once here so stacks never recompute them

    @property
    def names(self) -> PlatformNames:
        """Every generated name (validated in `_check_names`)."""
        gke = self.name("gke")
        env = self.environment
        return PlatformNames(
            gke_cluster=gke,
            vpc=self.name("vpc"),
            ingress_ip=self.name("ingress"),
            private_services=self.name("private-services"),
            webhook_firewall=f"{gke}-allow-control-plane-webhooks",
            node_service_account=f"{gke}-nodes",
            bastion=f"{gke}-bastion",
            external_secrets_service_account=f"{env}-external-secrets",
            mlflow=f"{env}-mlflow",
            mlflow_bucket=self.mlflow_bucket_name,
            repo_credentials_secret=f"{env}-argocd-repo-credentials",
            oidc_client_secret=f"{env}-argocd-oidc-client",
        )

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
        """Apex, Argo CD and every enabled app: one Google-managed certificate each."""
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
