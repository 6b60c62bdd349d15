"""Computed Helm values of MLflow (community-charts/mlflow).

Pure Python (no cdktf import). `mlflow_values` returns the FULL values of the
chart: the static values file (apps.mlflow.values_file in helm-values/, by
default mlflow.yaml) with the computed part merged over it. The result passes
`chart_values_problems` for the chart with the default file (tested).
"""

from __future__ import annotations

import copy
import re
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
