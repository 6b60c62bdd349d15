"""The SQL that lets MLflow's IAM database user create its schema (pure Python).

One place for it: the grant step and the test that runs it on a real
PostgreSQL both take it from here.

Why it is needed: PostgreSQL 15+ gives PUBLIC no CREATE on schema public
(the schema belongs to pg_database_owner), and Cloud SQL gives an IAM
database user no privileges at all. MLflow creates and migrates its tables
itself (alembic), so its user needs USAGE and CREATE on schema public; the
tables it creates are then its own. Nothing else: no superuser, no role
membership, no other schema. GRANT is idempotent, so running it again is
harmless. Run it as Cloud SQL's `postgres` user (a member of
cloudsqlsuperuser, which owns databases created through the Admin API and so
owns their schema public).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from platform_builders.container_security import HARDENED_CONTAINER_SECURITY_CONTEXT
from platform_services.mlflow.values import CLOUD_SQL_PROXY_IMAGE

#: Cloud SQL's name for a service account's IAM database user: its email
#: without ".gserviceaccount.com" (e.g. mlflow-dev@my-project.iam).
_IAM_DATABASE_USER = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam")


def quote_identifier(name: str) -> str:
    """A PostgreSQL quoted identifier: inner double quotes doubled, no NUL."""
    if not name or "\x00" in name:
        raise ValueError(f"not a PostgreSQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def grant_sql(database_user: str) -> str:
    """The statements, one per line, for psql -v ON_ERROR_STOP=1."""
    if not _IAM_DATABASE_USER.fullmatch(database_user):
        raise ValueError(
            "database_user must be an IAM service-account database user like "
            f"<account>@<project>.iam, got {database_user!r}"
        )
    role = quote_identifier(database_user)
    return f"GRANT USAGE, CREATE ON SCHEMA public TO {role};\n"


# --- the Job that runs it during `cdktf deploy` ---------------------------------
#
# The in-cluster Job that runs grant_sql() during the deploy.
#
# PostgreSQL 15+ gives ordinary roles no CREATE on schema public, and Cloud SQL
# gives IAM database users no privileges, so MLflow's IAM user cannot create
# its tables until a built-in user grants it that. Terraform sets no password
# (state would hold it), so the Job does it inside the cluster, during
# `cdktf deploy`, and nobody ever knows a password:
#
# 1. cloud-sql-proxy: native sidecar (init container, restartPolicy Always),
#    private IP, listening on the pod's loopback only.
# 2. set-password: a random `postgres` password through the Cloud SQL Admin
#    API, written to a memory-backed volume of this pod.
# 3. grant: psql runs grant_sql() with it; its exit status goes to that volume
#    (this container always succeeds, so step 4 always runs).
# 4. rotate: another random password that nobody sees; the Job then fails,
#    with the reason, when step 3 failed.
#
# It is a Helm post-install/post-upgrade hook: Helm waits for it and a failed
# Job fails the release, hence `cdktf deploy`. The failed Job stays for its
# logs (before-hook-creation deletes it on the next run). GRANT is idempotent,
# so a re-run is harmless.

#: Pinned images (a new one must arrive as a reviewed diff).
PYTHON_IMAGE = "python:3.13.11-slim"
POSTGRES_CLIENT_IMAGE = "postgres:18.4-alpine3.23"
#: Kubernetes service account of the Job (Workload Identity: MlflowStorage).
GRANT_SERVICE_ACCOUNT = "mlflow-database-grant"
#: The Cloud SQL resource types whose attributes IAM Conditions evaluate.
#: https://cloud.google.com/iam/docs/conditions-resource-attributes : "Resource
#: attributes are available for the Google Cloud services and resource types
#: that are listed on this page. Other services and resource types do not
#: recognize resource attributes." For sqladmin.googleapis.com its resource
#: type table lists Instance and BackupRun; terraform-google-sql-db PR #616:
#: "IAM conditions can only be used to restrict access to DatabaseInstances or
#: BackupRuns" (databases.list then fails with 403). A condition on
#: resource.name therefore holds only for calls checked on an instance.
IAM_CONDITION_RESOURCE_TYPES = frozenset(
    {"sqladmin.googleapis.com/Instance", "sqladmin.googleapis.com/BackupRun"}
)
#: Every Cloud SQL Admin API call the Job makes: (caller, API method, permission,
#: resource type IAM checks it on). Permissions from
#: https://cloud.google.com/sql/docs/postgres/iam-permissions ("Get the
#: operations of a project | cloudsql.instances.get") and the Cloud SQL Auth
#: Proxy's README ("cloudsql.instances.connect", "cloudsql.instances.get";
#: without --auto-iam-authn it needs no cloudsql.instances.login).
ADMIN_API_CALLS = (
    # cloud-sql-go-connector's refresh: GET .../instances/{i}/connectSettings
    ("cloud-sql-proxy", "sql.connect.get", "cloudsql.instances.get",
     "sqladmin.googleapis.com/Instance"),
    # POST .../instances/{i}:generateEphemeralCert
    ("cloud-sql-proxy", "sql.connect.generateEphemeralCert", "cloudsql.instances.connect",
     "sqladmin.googleapis.com/Instance"),
    # PUT .../instances/{i}/users?name=postgres: a User, not an instance.
    ("set-password, rotate", "sql.users.update", "cloudsql.users.update",
     "sqladmin.googleapis.com/User"),
    # GET .../projects/{p}/operations/{op}: no instance in the request at all.
    ("set-password, rotate", "sql.operations.get", "cloudsql.instances.get",
     "sqladmin.googleapis.com/Operation"),
)  # fmt: skip
#: Bound under the IAM condition naming the instance: the calls checked on the
#: instance itself (the proxy's), so it connects to this instance and no other.
GRANT_PERMISSIONS = (
    "cloudsql.instances.connect",  # Auth Proxy: ephemeral certificate
    "cloudsql.instances.get",  # Auth Proxy: connect settings (instance metadata)
)
#: Bound WITHOUT a condition: the calls IAM does not check on an instance, so a
#: condition on the instance's name could never hold for them and they would
#: always be denied. The cost, accepted: this identity (used only by the grant
#: Job's Kubernetes service account) could set a user's password on any Cloud
#: SQL instance of the project, and read any instance's metadata. It cannot
#: connect to any other instance (cloudsql.instances.connect stays conditioned).
GRANT_UNCONDITIONAL_PERMISSIONS = (
    "cloudsql.instances.get",  # operations.get: wait for the password change
    "cloudsql.users.update",  # set the `postgres` password
)
PASSWORD_SCRIPT = Path(__file__).resolve().parent / "scripts" / "cloudsql_postgres_password.py"
PROXY_PORT = 5432
#: psql as the Job runs it; tests run grant_sql() with the same flags.
PSQL_FLAGS = ("--no-psqlrc", "--set", "ON_ERROR_STOP=1")

_WORK = "/run/grant"
_SCRIPTS = "/opt/grant"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
#: A database name the shell's word splitting keeps whole.
_DATABASE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


#: Seconds the grant step waits for the proxy to accept a connection: the
#: proxy answers only once its conditioned binding works (IAM propagation, see
#: the password script). The steps' budgets together (set 420 + this + rotate
#: 120 = 720 s) leave 180 s of the Job's and the release's 900 s for the rest.
GRANT_PROXY_WAIT_SECONDS = 180

_GRANT_SHELL = f"""\
set -u
deadline=$(( $(date +%s) + {GRANT_PROXY_WAIT_SECONDS} ))
delay=2
attempt=0
until pg_isready --quiet; do
  attempt=$((attempt + 1))
  if [ $(( $(date +%s) + delay )) -gt "$deadline" ]; then
    echo "ERROR: Cloud SQL Auth Proxy not ready on 127.0.0.1:{PROXY_PORT} after \\
{GRANT_PROXY_WAIT_SECONDS} s (its logs name the cause; a 403 there: the identity lacks \\
cloudsql.instances.connect or cloudsql.instances.get on this instance)" >&2
    echo unreachable > "$GRANT_RESULT"
    exit 0
  fi
  echo "retry $attempt of the proxy connection in $delay s: not accepting yet" >&2
  sleep "$delay"
  delay=$(( delay * 2 > 60 ? 60 : delay * 2 ))
done
status=0
for database in $GRANT_DATABASES; do
  psql {" ".join(PSQL_FLAGS)} --dbname "$database" --file {_SCRIPTS}/grant.sql || status=$?
done
echo $status > "$GRANT_RESULT"
"""


def grant_job_manifests(
    *,
    namespace: str,
    gcp_service_account: str,
    project_id: str,
    instance: str,
    connection_name: str,
    database: str,
    database_user: str,
    other_databases: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """ServiceAccount, ConfigMap and the hook Job, for a ManifestBundle.

    The grant runs in `database` and in each of `other_databases` (MLflow's
    auth database), all on the same instance."""
    databases = [database, *other_databases]
    if not _NAME.match(instance) or not all(_DATABASE.match(d) for d in databases):
        raise ValueError(f"grant job: bad instance {instance!r} or databases {databases!r}")
    sql = grant_sql(database_user)
    script = PASSWORD_SCRIPT.read_text()
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": GRANT_SERVICE_ACCOUNT,
                "namespace": namespace,
                "annotations": {"iam.gke.io/gcp-service-account": gcp_service_account},
            },
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": GRANT_SERVICE_ACCOUNT, "namespace": namespace},
            "data": {"grant.sql": sql, "cloudsql_postgres_password.py": script},
        },
        _grant_job(
            namespace=namespace,
            name=f"{GRANT_SERVICE_ACCOUNT}-{_job_digest(sql, script, connection_name)}",
            connection_name=connection_name,
            env=_step_env(project_id=project_id, instance=instance, databases=databases),
        ),
    ]


def _job_digest(sql: str, script: str, connection_name: str) -> str:
    """A new Job name whenever what the Job does changes (a Job's template is
    immutable); the same name otherwise."""
    return hashlib.sha256(
        "\0".join(
            [
                sql,
                script,
                _GRANT_SHELL,
                connection_name,
                PYTHON_IMAGE,
                POSTGRES_CLIENT_IMAGE,
                CLOUD_SQL_PROXY_IMAGE,
            ]
        ).encode()
    ).hexdigest()[:10]


def _step_env(*, project_id: str, instance: str, databases: Sequence[str]) -> list[dict[str, str]]:
    """The environment of every step (set-password, grant, rotate)."""
    return [
        {"name": "PROJECT", "value": project_id},
        {"name": "INSTANCE", "value": instance},
        {"name": "PGPASSFILE", "value": f"{_WORK}/pgpass"},
        {"name": "GRANT_RESULT", "value": f"{_WORK}/result"},
        {"name": "PGHOST", "value": "127.0.0.1"},
        {"name": "PGPORT", "value": str(PROXY_PORT)},
        {"name": "PGUSER", "value": "postgres"},
        {"name": "PGDATABASE", "value": databases[0]},
        {"name": "GRANT_DATABASES", "value": " ".join(databases)},
        # TLS is the proxy's job; the local hop is the pod's loopback.
        {"name": "PGSSLMODE", "value": "disable"},
        {"name": "PGCONNECT_TIMEOUT", "value": "10"},
        {"name": "HOME", "value": "/tmp"},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
    ]


def _small_resources() -> dict[str, Any]:
    """Requests and limits of each container of the Job (a fresh copy)."""
    return {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}


_PASSWORD_COMMAND = ("python3", f"{_SCRIPTS}/cloudsql_postgres_password.py")


def _step(name: str, image: str, command: list[str], env: list[dict[str, str]]) -> dict[str, Any]:
    """One step of the Job: an init container, or the last (main) container."""
    return {
        "name": name,
        "image": image,
        "command": command,
        "env": env,
        "volumeMounts": [
            {"name": "work", "mountPath": _WORK},
            {"name": "scripts", "mountPath": _SCRIPTS, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": HARDENED_CONTAINER_SECURITY_CONTEXT,
        "resources": _small_resources(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def _grant_job(
    *, namespace: str, name: str, connection_name: str, env: list[dict[str, str]]
) -> dict[str, Any]:
    """The post-install/post-upgrade hook Job: proxy sidecar, then the four steps."""
    labels = {"app.kubernetes.io/name": GRANT_SERVICE_ACCOUNT}
    python = list(_PASSWORD_COMMAND)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {
                "helm.sh/hook": "post-install,post-upgrade",
                "helm.sh/hook-delete-policy": "before-hook-creation",
            },
        },
        "spec": {
            # The steps retry inside their budgets; a new pod would repeat a
            # permanent failure past activeDeadlineSeconds and hide its message.
            "backoffLimit": 0,
            "activeDeadlineSeconds": 900,
            "template": {
                "metadata": {
                    # No Istio sidecar: it would keep the pod from completing.
                    "labels": {**labels, "sidecar.istio.io/inject": "false"},
                },
                "spec": {
                    "serviceAccountName": GRANT_SERVICE_ACCOUNT,
                    "automountServiceAccountToken": False,
                    "restartPolicy": "Never",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "initContainers": [
                        {
                            "name": "cloud-sql-proxy",
                            "image": CLOUD_SQL_PROXY_IMAGE,
                            # Native sidecar: runs beside the steps, stopped after them.
                            "restartPolicy": "Always",
                            "args": [
                                "--private-ip",
                                "--structured-logs",
                                f"--port={PROXY_PORT}",
                                connection_name,
                            ],
                            "securityContext": HARDENED_CONTAINER_SECURITY_CONTEXT,
                            "resources": _small_resources(),
                        },
                        _step("set-password", PYTHON_IMAGE, [*python, "set"], env),
                        _step("grant", POSTGRES_CLIENT_IMAGE, ["sh", "-c", _GRANT_SHELL], env),
                    ],
                    "containers": [_step("rotate", PYTHON_IMAGE, [*python, "rotate"], env)],
                    "volumes": [
                        {"name": "work", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                        {
                            "name": "scripts",
                            "configMap": {"name": GRANT_SERVICE_ACCOUNT},
                        },
                    ],
                },
            },
        },
    }
