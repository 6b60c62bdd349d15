"""Computed Helm values of the apps Argo CD runs: JupyterHub and MLflow.

Pure Python (no cdktf import). Each function returns the FULL values of its
chart: the static values file (the app's `values_file` in helm-values/,
by default <chart>.yaml) with the computed part merged over it. Both results
pass `chart_values_problems` for their chart with the default files (tested).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from platform_constructs.helm_values import deep_merge, load_values

#: Cloud SQL Auth Proxy v2, pinned to an exact release (never a moving tag:
#: a new proxy must arrive as a reviewed diff).
CLOUD_SQL_PROXY_IMAGE = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.26.0"
#: Port the proxy listens on, on the pod's loopback interface only.
CLOUD_SQL_PROXY_PORT = 5432
#: The distroless image's "nonroot" user.
NONROOT_UID = 65532
#: securityContext of every container the platform itself defines: non-root
#: (the distroless "nonroot" user), read-only, no privileges, default seccomp.
HARDENED_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": NONROOT_UID,
    "runAsGroup": NONROOT_UID,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}

#: hub.extraConfig key of the authenticator snippet (the chart runs the
#: snippets last, sorted by key).
AUTHENTICATOR_CONFIG_KEY = "iap-header-authenticator"

_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")
_PRINCIPAL = re.compile(r"^[A-Za-z0-9.-]+/ns/[a-z0-9-]+/sa/[a-z0-9.-]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_CONNECTION_NAME = re.compile(r"^[a-z0-9:.-]+:[a-z0-9-]+:[a-z0-9-]+$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_GSA_SUFFIX = ".gserviceaccount.com"

# --- Generated app secrets (issue #12, item 3) -------------------------------------
# Argo CD renders charts with `helm template`, where `lookup` finds nothing, so
# both charts would make new random secrets on every render. External Secrets
# generates them once in the cluster (stacks/bootstrap.py); the charts read
# them through the settings below. No value is in Git or Terraform state.

#: hub.existingSecret: z2jh's hub reads these keys from it before its own
#: Secret (files/hub/z2jh.py get_secret_value: "existing-secret" first).
HUB_SECRET_NAME = "jupyterhub-hub-secret"
HUB_SECRET_KEYS = ("hub.config.JupyterHub.cookie_secret", "hub.config.CryptKeeper.keys")
#: Set in the chart's values so that its templates/hub/_helpers-passwords.tpl
#: takes "the chart configuration's value" instead of lookup + random. Never
#: used: the hub reads hub.existingSecret first. Deliberately invalid for
#: JupyterHub (not hex, not 32 bytes), so a hub that ever fell back to it
#: would refuse to start rather than run with a value published in Git.
HUB_SECRET_PLACEHOLDER = "unused; the hub reads this key from hub.existingSecret"
#: z2jh 4.4.0 reads the proxy token ONLY from its own Secret `hub` (schema of
#: hub.existingSecret; proxy and hub Deployments' CONFIGPROXY_AUTH_TOKEN), so
#: no value can switch its generation off without publishing the token. Argo
#: CD keeps the first one it applied instead: these fields are ignored in the
#: diff and, with RespectIgnoreDifferences, taken from the live object on
#: every sync (upstream: z2jh #2887, open PR #3903).
JUPYTERHUB_IGNORE_DIFFERENCES: tuple[dict[str, Any], ...] = (
    {
        "kind": "Secret",
        "name": "hub",
        "jsonPointers": ["/data/hub.config.ConfigurableHTTPProxy.auth_token"],
    },
    {
        # sha256 of the hub Secret, which holds that token.
        "group": "apps",
        "kind": "Deployment",
        "name": "hub",
        "jsonPointers": ["/spec/template/metadata/annotations/checksum~1secret"],
    },
    {
        # The token's hash, generated anew (separately) on every render.
        "group": "apps",
        "kind": "Deployment",
        "name": "proxy",
        "jsonPointers": ["/spec/template/metadata/annotations/checksum~1auth-token"],
    },
)
#: Replaces the ignored checksum/secret: the hub still restarts when its
#: values (hence its config in the Secret) change.
HUB_VALUES_CHECKSUM_ANNOTATION = "checksum/platform-values"

#: The chart reads MLFLOW_FLASK_SERVER_SECRET_KEY through envFrom; ours is the
#: last envFrom source (extraSecretNamesForEnvFrom), and Kubernetes takes the
#: last source's value for a duplicate key.
MLFLOW_FLASK_SECRET_NAME = "mlflow-flask-secret-key"
MLFLOW_FLASK_SECRET_KEY = "MLFLOW_FLASK_SERVER_SECRET_KEY"
#: flaskServerSecretKey: non-empty, so templates/flask_secret.yaml renders
#: this instead of mlflow.generateRandomHex (its lookup never finds the
#: Secret under Argo CD). Overridden by MLFLOW_FLASK_SECRET_NAME above.
MLFLOW_FLASK_PLACEHOLDER = f"unused; overridden by the Secret {MLFLOW_FLASK_SECRET_NAME}"


# --- JupyterHub ----------------------------------------------------------------


def jupyterhub_values(
    *,
    values_file: str,
    admin_users: Sequence[str],
    storage_size: str,
    cull_idle_minutes: int,
    gpu_pools: Sequence[GpuPool],
    identity_header: str,
    proxy_principal: str,
) -> dict[str, Any]:
    """Full zero-to-jupyterhub 4.4.0 values.

    - values_file: the static values in helm-values/ (apps.jupyterhub.values_file,
      "jupyterhub.yaml" by default); the computed part is merged over them.
    - admin_users: emails of JupyterHub admins (as IAP reports them).
    - storage_size: per-user home volume, a Kubernetes quantity ("10Gi").
    - cull_idle_minutes: stop a server after this long without activity.
    - gpu_pools: the cluster's GPU node pools; each adds a GPU profile that
      runs on that pool, next to the default CPU one; empty: CPU only.
    - identity_header: header the Istio gateway fills with the verified IAP
      email (e.g. "x-iap-user-email"), overwriting anything the client sent.
    - proxy_principal: the mesh identity of the chart's proxy pod, the only
      caller of the hub's sign-in handler (the mesh admits only the gateway to
      the proxy): "cluster.local/ns/<namespace>/sa/<service account>".
    """
    admins = sorted({_checked_email(user) for user in admin_users})
    if not _QUANTITY.match(storage_size):
        raise ValueError(
            f"storage_size must be a Kubernetes quantity like 10Gi, got {storage_size!r}"
        )
    if isinstance(cull_idle_minutes, bool) or cull_idle_minutes <= 0:
        raise ValueError(f"cull_idle_minutes must be a positive integer, got {cull_idle_minutes!r}")
    if not _HEADER_NAME.match(identity_header):
        raise ValueError(f"identity_header must be an HTTP header name, got {identity_header!r}")
    principal = proxy_principal.removeprefix("spiffe://")
    if not _PRINCIPAL.match(principal):
        raise ValueError(
            "proxy_principal must look like cluster.local/ns/<namespace>/sa/<service-account>, "
            f"got {proxy_principal!r}"
        )

    computed: dict[str, Any] = {
        "hub": {
            "existingSecret": HUB_SECRET_NAME,
            "config": {
                "JupyterHub": {"cookie_secret": HUB_SECRET_PLACEHOLDER},
                "CryptKeeper": {"keys": [HUB_SECRET_PLACEHOLDER]},
                # allow_all: IAP already decides who reaches the hub (JupyterHub
                # 5 admits nobody unless an allow rule is set). auto_login: no
                # "Sign in" button page; /hub/login signs in from the header.
                "Authenticator": {
                    "admin_users": admins,
                    "allow_all": True,
                    "auto_login": True,
                },
                # User servers run arbitrary code: no Kubernetes API token. (With
                # a service account named, KubeSpawner's default None mounts one.)
                "KubeSpawner": {"automount_service_account_token": False},
            },
            "extraConfig": {
                AUTHENTICATOR_CONFIG_KEY: authenticator_config(
                    identity_header=identity_header, proxy_principal=principal
                ),
            },
        },
        "singleuser": {
            # A dedicated identity: the mesh lets it call the hub's API only,
            # never /hub/login (see mesh policies in stacks/bootstrap.py).
            "serviceAccountName": JUPYTER_USER_SERVICE_ACCOUNT,
            "storage": {"type": "dynamic", "capacity": storage_size},
            "profileList": _profiles(gpu_pools),
        },
        "cull": {"enabled": True, "timeout": cull_idle_minutes * 60},
    }
    values = deep_merge(load_values(values_file), computed)
    values["hub"].setdefault("annotations", {})[HUB_VALUES_CHECKSUM_ANNOTATION] = values_checksum(
        values
    )
    return values


def values_checksum(values: dict[str, Any]) -> str:
    """sha256 of the values, without the checksum annotation itself."""
    hub = dict(values.get("hub", {}))
    annotations = {
        k: v for k, v in hub.get("annotations", {}).items() if k != HUB_VALUES_CHECKSUM_ANNOTATION
    }
    hub["annotations"] = annotations
    canonical = json.dumps({**values, "hub": hub}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


#: Kubernetes service account of user servers (created by the bootstrap stack).
JUPYTER_USER_SERVICE_ACCOUNT = "jupyter-user"


def authenticator_config(*, identity_header: str, proxy_principal: str) -> str:
    """Python for hub.extraConfig: sign users in from the gateway's identity header.

    JupyterHub 5 Authenticator API: `get_handlers` replaces /hub/login with a
    handler that calls `BaseHandler.login_user()`; that runs
    `Authenticator.get_authenticated_user` -> our `authenticate` (then
    normalization, allow_all / admin_users checks) -> `auth_to_user` ->
    `set_login_cookie`. On every later request `BaseHandler.refresh_auth`
    calls our `refresh_user`, which ends the session when the verified
    identity of a browser request is not the session's user.

    The header is only believed on a request whose direct caller is the
    proxy. X-Forwarded-Client-Cert as the hub sees it is Istio's record of the
    last mesh hop: every sidecar's outbound listener drops the header (Envoy
    removes XFCC on a connection without a client certificate, and the app ->
    own-sidecar hop has none), and the hub's inbound sidecar appends the mTLS
    peer's SPIFFE URI (APPEND_FORWARD). So a browser request (gateway ->
    proxy -> hub) arrives with exactly one element, the proxy's URI, and a pod
    calling the hub directly arrives with its own, whatever it sent. The mesh
    admits only the gateway to the proxy's public port, and only the proxy to
    /hub/login: this is the second lock on the same door.
    """
    proxy_uri = "spiffe://" + proxy_principal.removeprefix("spiffe://")
    return f'''\
# Generated by platform_constructs/app_values.py: sign-in from the IAP email
# that the Istio gateway verified and wrote into a request header.
from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from tornado import web

IDENTITY_HEADER = {identity_header!r}
#: The hub's only browser-facing caller (XFCC as the hub's sidecar writes it).
PROXY_URI = {proxy_uri!r}


def _peer_uris(xfcc):
    """URI= of each X-Forwarded-Client-Cert element, oldest hop first.

    Elements are comma-separated, fields semicolon-separated; a quoted value
    may itself contain , or ; (Envoy quotes Subject), so split outside quotes.
    """
    elements, fields, current, quoted = [], [], "", False
    for char in xfcc:
        if char == '"':
            quoted = not quoted
            current += char
        elif char in ",;" and not quoted:
            fields.append(current)
            current = ""
            if char == ",":
                elements.append(fields)
                fields = []
        else:
            current += char
    fields.append(current)
    elements.append(fields)
    uris = []
    for element in elements:
        found = [
            value.strip().strip('"')
            for key, _, value in (field.strip().partition("=") for field in element)
            if key.lower() == "uri"
        ]
        uris.append(found[0] if len(found) == 1 else None)
    return uris


def from_proxy(request):
    """Whether the direct mesh caller is the proxy, and nothing else is recorded."""
    return _peer_uris(request.headers.get("X-Forwarded-Client-Cert", "")) == [PROXY_URI]


def verified_identity(request):
    """The gateway's identity header on a request from the proxy, else None."""
    if not from_proxy(request):
        return None
    values = request.headers.get_list(IDENTITY_HEADER)
    if len(values) != 1:
        return None
    # IAP's own header has the form "accounts.google.com:<email>".
    email = values[0].strip().rpartition(":")[2].lower()
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or any(ch.isspace() for ch in email):
        return None
    return email


class IapHeaderLoginHandler(BaseHandler):
    """/hub/login: sign in as the user named by the gateway's identity header."""

    async def get(self):
        if verified_identity(self.request) is None:
            raise web.HTTPError(403, "sign in through the platform's gateway")
        user = await self.login_user()
        if user is None:
            raise web.HTTPError(403, "identity not accepted")
        self.redirect(self.get_next_url(user))


class IapHeaderAuthenticator(Authenticator):
    """Trusts IDENTITY_HEADER on requests from the proxy, and only those."""

    def get_handlers(self, app):
        return [("/login", IapHeaderLoginHandler)]

    async def authenticate(self, handler, data=None):
        email = verified_identity(handler.request)
        if email is None:
            self.log.warning("%s ignored: not received through the gateway", IDENTITY_HEADER)
            return None
        return {{"name": email}}

    async def refresh_user(self, user, handler=None):
        """Every browser request: its verified identity must be the session's user.

        Browser requests reach the hub through the proxy; other callers (a
        user server calling the hub's API with its own token) carry no browser
        identity to compare.
        """
        if handler is None or not from_proxy(handler.request):
            return True
        if verified_identity(handler.request) != user.name:
            self.log.warning("session of %s ended: the verified identity changed", user.name)
            return False
        return True


c.JupyterHub.authenticator_class = IapHeaderAuthenticator
# refresh_user on every request: BaseHandler.refresh_auth skips a refresh only
# while (now - last refresh) < auth_refresh_age, never true for a negative age
# (0 would disable refreshing). Proven inside JupyterHub 5.5.0 by the tests.
c.Authenticator.auth_refresh_age = -1
'''


@dataclass(frozen=True, kw_only=True)
class GpuPool:
    """A GPU node pool, as a JupyterHub profile sees it."""

    pool: str
    """The GKE node pool's name (label cloud.google.com/gke-nodepool)."""
    accelerator: str
    """GKE accelerator type, e.g. nvidia-l4."""
    count: int
    """GPUs per node: a server of the profile takes all of them."""


#: A GPU pool may start at 0 nodes: the autoscaler adds a node, GKE installs
#: the driver, and only then the server starts. Spawning waits this long.
GPU_START_TIMEOUT_SECONDS = 900


def _profiles(gpu_pools: Sequence[GpuPool]) -> list[dict[str, Any]]:
    profiles: list[dict[str, Any]] = [
        {
            "display_name": "CPU",
            "slug": "cpu",
            "description": "JupyterLab with the default CPU and memory.",
            "default": True,
        }
    ]
    pool_names = [gpu.pool for gpu in gpu_pools]
    if len(set(pool_names)) != len(pool_names):
        raise ValueError(f"gpu pools must have distinct names, got {pool_names}")
    for gpu in gpu_pools:
        if not _K8S_NAME.match(gpu.pool) or len(gpu.pool) > 40:
            raise ValueError(f"gpu pool must be a node pool name, got {gpu.pool!r}")
        if not gpu.accelerator or not _K8S_NAME.match(gpu.accelerator):
            raise ValueError(f"gpu type must be a GKE accelerator name, got {gpu.accelerator!r}")
        if isinstance(gpu.count, bool) or not isinstance(gpu.count, int) or gpu.count < 1:
            raise ValueError(f"gpu count must be a positive integer, got {gpu.count!r}")
        profiles.append(
            {
                "display_name": f"GPU ({gpu.count} x {gpu.accelerator}, pool {gpu.pool})",
                "slug": f"gpu-{gpu.pool}",
                "description": (
                    f"JupyterLab on a node of pool {gpu.pool} with {gpu.count} "
                    f"{gpu.accelerator} GPU(s). Starting one can take minutes."
                ),
                "kubespawner_override": {
                    "extra_resource_limits": {"nvidia.com/gpu": str(gpu.count)},
                    # Exactly that pool (its zones, spot or not), and GKE's
                    # accelerator label as a second check.
                    "node_selector": {
                        "cloud.google.com/gke-nodepool": gpu.pool,
                        "cloud.google.com/gke-accelerator": gpu.accelerator,
                    },
                    # GPU nodes are tainted so that only GPU workloads land there.
                    # (This list replaces the chart's user-pod tolerations for
                    # this profile; GPU nodes carry no other taint.)
                    "tolerations": [
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    "start_timeout": GPU_START_TIMEOUT_SECONDS,
                },
            }
        )
    return profiles


def _checked_email(value: str) -> str:
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or any(ch.isspace() for ch in email):
        raise ValueError(f"admin user must be an email address, got {value!r}")
    return email


# --- MLflow ----------------------------------------------------------------------


def mlflow_values(
    *,
    values_file: str,
    service_account_name: str,
    gcp_service_account: str,
    artifact_bucket: str,
    sql_instance_connection_name: str,
    database: str,
    database_user: str,
    public_host: str | None = None,
) -> dict[str, Any]:
    """Full community-charts/mlflow 1.11.5 values.

    - values_file: the static values in helm-values/ (apps.mlflow.values_file,
      "mlflow.yaml" by default); the computed part is merged over them.
    - service_account_name: Kubernetes service account the chart creates.
    - gcp_service_account: Google service account email it impersonates
      through Workload Identity (bucket and Cloud SQL access).
    - artifact_bucket: GCS bucket name for artifacts (no gs://).
    - sql_instance_connection_name: "<project>:<region>:<instance>".
    - database: PostgreSQL database name.
    - database_user: IAM database user: the Google service account email
      without ".gserviceaccount.com".
    - public_host: the browser-facing host (mlflow.<domain>). MLflow 3.x
      rejects other Host headers and cross-origin POSTs, so without it only
      in-cluster clients (mlflow.<namespace>.svc...) can use the server.

    Backend store: the chart's backendStore.postgres.* insists on a password
    (its Secret template `required`s one), and its other DB options are
    mysql/mssql. So postgres stays disabled and the URI goes in as
    extraArgs.backendStoreUri: the chart renders every extraArgs entry as
    `--<kebab-case key>=<value>` after its own `--backend-store-uri=sqlite...`
    and click (MLflow's CLI) keeps the last value of a repeated option. The URI
    carries no password: the Cloud SQL Auth Proxy sidecar logs in with the
    pod's IAM identity (--auto-iam-authn).
    """
    if not _K8S_NAME.match(service_account_name):
        raise ValueError(f"service_account_name is not a Kubernetes name: {service_account_name!r}")
    if not gcp_service_account.endswith(_GSA_SUFFIX) or "@" not in gcp_service_account:
        raise ValueError(
            f"gcp_service_account must be a service account email, got {gcp_service_account!r}"
        )
    if not _BUCKET.match(artifact_bucket):
        raise ValueError(
            f"artifact_bucket must be a bucket name (no gs://), got {artifact_bucket!r}"
        )
    if not _CONNECTION_NAME.match(sql_instance_connection_name):
        raise ValueError(
            "sql_instance_connection_name must be <project>:<region>:<instance>, "
            f"got {sql_instance_connection_name!r}"
        )
    if not database or "/" in database or "?" in database:
        raise ValueError(f"database must be a plain database name, got {database!r}")
    if database_user.endswith(_GSA_SUFFIX) or not database_user:
        raise ValueError(
            "database_user is the IAM database user: the service account email without "
            f"{_GSA_SUFFIX!r}, got {database_user!r}"
        )

    static = load_values(values_file)
    # user@ in a URL: the "@" of the IAM user name must be percent-encoded.
    backend_store_uri = (
        f"postgresql://{quote(database_user, safe='')}@127.0.0.1:{CLOUD_SQL_PROXY_PORT}/"
        f"{quote(database, safe='')}"
    )
    computed: dict[str, Any] = {
        "serviceAccount": {
            "create": True,
            "name": service_account_name,
            "annotations": {"iam.gke.io/gcp-service-account": gcp_service_account},
        },
        "artifactRoot": {"gcs": {"enabled": True, "bucket": artifact_bucket, "path": ""}},
        "extraArgs": {"backendStoreUri": backend_store_uri},
        "flaskServerSecretKey": MLFLOW_FLASK_PLACEHOLDER,
        "extraSecretNamesForEnvFrom": [
            *[
                name
                for name in static.get("extraSecretNamesForEnvFrom", [])
                if name != MLFLOW_FLASK_SECRET_NAME
            ],
            MLFLOW_FLASK_SECRET_NAME,
        ],
        # The chart appends initContainers after its own (none here). With
        # restartPolicy Always it is a native sidecar: started before MLflow,
        # kept running, stopped after it.
        "initContainers": [_cloud_sql_proxy(sql_instance_connection_name)],
    }
    if public_host is not None:
        if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", public_host):
            raise ValueError(f"public_host must be a host name, got {public_host!r}")
        computed["serverAllowedHosts"] = [*static.get("serverAllowedHosts", []), public_host]
        computed["corsAllowedOrigins"] = [f"https://{public_host}"]
    return deep_merge(static, computed)


def _cloud_sql_proxy(connection_name: str) -> dict[str, Any]:
    return {
        "name": "cloud-sql-proxy",
        "image": CLOUD_SQL_PROXY_IMAGE,
        "restartPolicy": "Always",
        "args": [
            # Log in as the pod's Google service account (IAM database auth).
            "--auto-iam-authn",
            # The instance has no public IP; reach it over the VPC.
            "--private-ip",
            # JSON logs for Cloud Logging.
            "--structured-logs",
            f"--port={CLOUD_SQL_PROXY_PORT}",
            connection_name,
        ],
        "securityContext": copy.deepcopy(HARDENED_CONTAINER_SECURITY_CONTEXT),
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"memory": "256Mi"},
        },
    }
