"""Computed Helm values of MLflow (community-charts/mlflow).

Pure Python (no cdktf import). `mlflow_values` returns the FULL values of the
chart: the static values file (apps.mlflow.values_file in helm-values/, by
default mlflow.yaml) with the computed part merged over it. The result passes
`chart_values_problems` for the chart with the default file (tested).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from platform_builders.container_security import HARDENED_CONTAINER_SECURITY_CONTEXT
from platform_builders.helm_values import deep_merge, load_values
from platform_builders.kubernetes_names import K8S_NAME as _K8S_NAME

#: Cloud SQL Auth Proxy v2, pinned to an exact release (never a moving tag:
#: a new proxy must arrive as a reviewed diff).
CLOUD_SQL_PROXY_IMAGE = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.26.0"
#: Port the proxy listens on, on the pod's loopback interface only.
CLOUD_SQL_PROXY_PORT = 5432

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_CONNECTION_NAME = re.compile(r"^[a-z0-9:.-]+:[a-z0-9-]+:[a-z0-9-]+$")
_GSA_SUFFIX = ".gserviceaccount.com"

#: The chart reads MLFLOW_FLASK_SERVER_SECRET_KEY through envFrom; ours is the
#: last envFrom source (extraSecretNamesForEnvFrom), and Kubernetes takes the
#: last source's value for a duplicate key.
MLFLOW_FLASK_SECRET_NAME = "mlflow-flask-secret-key"
MLFLOW_FLASK_SECRET_KEY = "MLFLOW_FLASK_SERVER_SECRET_KEY"
#: flaskServerSecretKey: non-empty, so templates/flask_secret.yaml renders
#: this instead of mlflow.generateRandomHex (its lookup never finds the
#: Secret under Argo CD). Overridden by MLFLOW_FLASK_SECRET_NAME above.
MLFLOW_FLASK_PLACEHOLDER = f"unused; overridden by the Secret {MLFLOW_FLASK_SECRET_NAME}"


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
    auth: MlflowAuth | None = None,
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
    - auth: MLflow's sign-in (`auth_values`); None: no authentication at all.
      It needs public_host (browser writes must come from that origin).

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
    if auth is not None:
        if public_host is None:
            raise ValueError("auth needs public_host: browser writes are checked against it")
        computed |= auth_values(
            auth, public_host=public_host, database_user=database_user, static=static
        )
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


# --- Sign-in: the platform's identity (scripts/platform_mlflow_auth.py) ------------

#: scripts/platform_mlflow_auth.py as MLflow imports it: this module name, in
#: this directory on PYTHONPATH.
AUTH_MODULE = "platform_mlflow_auth"
AUTH_FUNCTION = f"{AUTH_MODULE}:authenticate"
AUTH_MODULE_DIR = "/opt/platform-mlflow-auth"
#: The ConfigMap (rendered by the chart's extraDeploy) holding the module.
AUTH_MODULE_CONFIGMAP = "mlflow-platform-auth"
AUTH_SOURCE = Path(__file__).resolve().parent / "scripts" / f"{AUTH_MODULE}.py"
#: The chart insists on an admin user, which MLflow creates at start-up with
#: this name and password: both random, generated once in the cluster (External
#: Secrets), known to nobody; no path of the module checks a password, and a name
#: without "@" is no identity it ever yields.
AUTH_ADMIN_SECRET_NAME = "mlflow-auth-admin"
AUTH_ADMIN_SECRET_KEYS = ("username", "password")
#: The chart's auth.postgres reads user and password from a Secret
#: (existingSecret) and writes them into MLflow's auth ini with sed. Nothing
#: secret: the IAM database user's name and an empty password (the Cloud SQL
#: Auth Proxy logs in with the pod's identity).
AUTH_DATABASE_SECRET_NAME = "mlflow-auth-database"
#: MLflow's permission names (mlflow/server/auth/permissions.py).
PERMISSIONS = ("READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS")
_PRINCIPAL = re.compile(r"^[A-Za-z0-9.-]+/ns/[a-z0-9-]+/sa/[a-z0-9.-]+$")


@dataclass(frozen=True, kw_only=True)
class MlflowAuth:
    """MLflow's sign-in, as the module and the chart's auth.* values need it."""

    identity_header: str
    """The header the gateway fills with the verified IAP email."""
    gateway_principal: str
    """The gateway's mesh identity: cluster.local/ns/<namespace>/sa/<account>."""
    hub_api_url: str
    """JupyterHub's REST API in the cluster, e.g.
    http://hub.jupyterhub.svc.cluster.local:8081/hub/api; empty: no tokens accepted."""
    hub_service: str
    """MLflow's name as a JupyterHub service (tokens need access:services!service=<it>)."""
    admins: Sequence[str]
    """Emails of MLflow admins."""
    default_permission: str
    """What users get on what is not theirs (an MLflow permission name)."""
    database: str
    """The auth database, on the backend store's Cloud SQL instance."""


def auth_module_source(auth: MlflowAuth, *, public_host: str) -> str:
    """The module's source with its configuration lines replaced by the platform's values.

    The text passes through Terraform (a `${` is a template there) and the
    chart's `tpl` (`{{`), so it must hold neither.
    """
    principal = auth.gateway_principal.removeprefix("spiffe://")
    if not _PRINCIPAL.match(principal):
        raise ValueError(f"gateway_principal is not a mesh identity: {auth.gateway_principal!r}")
    if auth.hub_api_url and not re.fullmatch(
        r"http://[a-z0-9.-]+(:[0-9]+)?/[a-z/]*[a-z]", auth.hub_api_url
    ):
        raise ValueError(f"hub_api_url must be an in-cluster http URL, got {auth.hub_api_url!r}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", auth.hub_service):
        raise ValueError(f"hub_service must be a JupyterHub service name, got {auth.hub_service!r}")
    if auth.default_permission not in PERMISSIONS:
        raise ValueError(f"default_permission must be one of {PERMISSIONS}")
    source = AUTH_SOURCE.read_text()
    for name, value in (
        ("IDENTITY_HEADER", auth.identity_header),
        ("GATEWAY_URI", "spiffe://" + principal),
        ("PUBLIC_ORIGIN", f"https://{public_host}"),
        ("HUB_API_URL", auth.hub_api_url),
        ("HUB_SERVICE", auth.hub_service),
        ("ADMINS", tuple(sorted({admin.strip().lower() for admin in auth.admins}))),
    ):
        source = _replace_constant(source, name, value)
    for marker in ("${", "%{", "{{"):
        if marker in source:
            raise ValueError(f"{AUTH_SOURCE.name} must not contain {marker!r}")
    return source


def _replace_constant(source: str, name: str, value: object) -> str:
    """`name = <value>` in place of the one line of `source` that assigns `name`."""
    lines = source.splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if line.startswith((f"{name} = ", f"{name}: "))]
    if len(found) != 1:
        raise ValueError(f"{AUTH_SOURCE.name} must assign {name} on exactly one line")
    lines[found[0]] = f"{name} = {value!r}\n"
    return "".join(lines)


def auth_database_user(database_user: str) -> str:
    """The auth database user as the chart's URI needs it: URL-encoded ("@" is
    %40), then every "%" doubled, because MLflow reads its auth ini with
    configparser's interpolation ("%%" is a literal "%")."""
    return quote(database_user, safe="").replace("%", "%%")


def auth_values(
    auth: MlflowAuth, *, public_host: str, database_user: str, static: dict[str, Any]
) -> dict[str, Any]:
    """The chart's auth.* (basic-auth app, our function, the auth database on
    Cloud SQL through the proxy) and the module's ConfigMap, volume and PYTHONPATH."""
    if not auth.database or "/" in auth.database:
        raise ValueError(f"auth database must be a plain database name, got {auth.database!r}")
    source = auth_module_source(auth, public_host=public_host)
    return {
        "auth": {
            "enabled": True,
            "appName": "basic-auth",
            "authorizationFunction": AUTH_FUNCTION,
            "defaultPermission": auth.default_permission,
            "existingAdminSecret": {
                "name": AUTH_ADMIN_SECRET_NAME,
                "usernameKey": "username",
                "passwordKey": "password",
            },
            "postgres": {
                "enabled": True,
                "host": "127.0.0.1",
                "port": CLOUD_SQL_PROXY_PORT,
                "database": auth.database,
                "existingSecret": {
                    "name": AUTH_DATABASE_SECRET_NAME,
                    "usernameKey": "username",
                    "passwordKey": "password",
                },
            },
        },
        "extraDeploy": [
            *static.get("extraDeploy", []),
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": AUTH_MODULE_CONFIGMAP},
                "data": {f"{AUTH_MODULE}.py": source},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": AUTH_DATABASE_SECRET_NAME},
                "type": "Opaque",
                "stringData": {"username": auth_database_user(database_user), "password": ""},
            },
        ],
        "extraVolumes": [
            *static.get("extraVolumes", []),
            {"name": "platform-auth", "configMap": {"name": AUTH_MODULE_CONFIGMAP}},
        ],
        "extraVolumeMounts": [
            *static.get("extraVolumeMounts", []),
            {"name": "platform-auth", "mountPath": AUTH_MODULE_DIR, "readOnly": True},
        ],
        "extraEnvVars": {**static.get("extraEnvVars", {}), "PYTHONPATH": AUTH_MODULE_DIR},
        # A changed module restarts MLflow (a mounted ConfigMap alone would not).
        "podAnnotations": {
            **static.get("podAnnotations", {}),
            "checksum/platform-auth": hashlib.sha256(source.encode()).hexdigest(),
        },
    }
