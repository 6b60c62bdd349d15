"""Issue #12 item 4: the grant Job, and its SQL under MLflow's own migrations.

The test starts PostgreSQL (Debian's, >= 15: `make test` installs it) on
loopback, lays it out like Cloud SQL (databases owned by cloudsqlsuperuser,
a `postgres` admin that is NOT a superuser, an IAM user with nothing), runs
grant_sql() exactly as the Job does (psql, PSQL_FLAGS), and then MLflow's own
migrations (the `mlflow db upgrade` command, the version the pinned chart runs, in
$MLFLOW_BIN's python) as the IAM user: they pass; as a role without the grant they fail.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import ClassVar
from urllib.parse import quote

import pytest

from platform_services.mlflow.database_grant import (
    GRANT_PERMISSIONS,
    GRANT_PROXY_WAIT_SECONDS,
    GRANT_UNCONDITIONAL_PERMISSIONS,
    IAM_CONDITION_RESOURCE_TYPES,
    PASSWORD_SCRIPT,
    grant_sql,
)
from tests.support.postgres_server import BOOTSTRAP_ROLE, Postgres
from tests.support.stacks import dependency_closure, releases, resources, values_of
from tests.support.synth import Synthesized
from tests.support.variants import Json

IAM_USER = "example-mlflow@example-mlops-project.iam"


@pytest.fixture(scope="module")
def postgres(postgres_server: Postgres) -> Postgres:
    return postgres_server.add_database("mlflow_job", [IAM_USER, "ungranted"])


def test_server_is_postgresql_15_or_later(postgres: Postgres) -> None:
    version = postgres.psql(BOOTSTRAP_ROLE, "SHOW server_version_num").stdout
    assert int(version.split()[2]) >= 150000, version
    # The premise: without the grant, an ordinary role cannot create in public.
    denied = postgres.psql("ungranted", "CREATE TABLE probe (id int)")
    assert denied.returncode != 0 and "permission denied for schema public" in denied.stderr


def test_grant_is_idempotent(postgres: Postgres) -> None:
    for _ in range(2):  # a re-run of the Job is harmless
        result = postgres.psql("postgres", grant_sql(IAM_USER))
        assert result.returncode == 0, result.stderr


#: Runs in MLflow's own python: the click command `mlflow db upgrade` runs, for each
#: URI in turn, in one process (an `mlflow` process spends ~4 s importing mlflow.cli;
#: mlflow.db alone is ~1 s less). The last stdout line is JSON: per URI, None or the error.
_UPGRADE_DRIVER = """
import json, sys
from mlflow.db import upgrade
errors = []
for uri in sys.argv[1:]:
    try:
        upgrade.main([uri], prog_name="mlflow db upgrade", standalone_mode=False)
        errors.append(None)
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
print(json.dumps(errors))
"""


def _mlflow_upgrade(postgres: Postgres, *users: str) -> list[str | None]:
    """`mlflow db upgrade` as each user in turn: None where it passed, else the error."""
    mlflow = os.environ.get("MLFLOW_BIN", "")
    if not Path(mlflow).is_file():
        pytest.skip("MLFLOW_BIN not set (make test installs mlflow into .tools/mlflow)")
    uris = [
        f"postgresql://{quote(u, safe='')}@127.0.0.1:{postgres.port}/{postgres.database}"
        for u in users
    ]
    driver = subprocess.run(
        [str(Path(mlflow).parent / "python"), "-c", _UPGRADE_DRIVER, *uris],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert driver.returncode == 0, driver.stderr[-3000:]
    errors: list[str | None] = json.loads(driver.stdout.splitlines()[-1])
    assert len(errors) == len(users), driver.stdout
    return errors


def test_mlflow_migrates_with_exactly_the_jobs_grant(postgres: Postgres) -> None:
    # Only the Job's SQL, run as Cloud SQL's non-superuser admin ...
    granted = postgres.psql("postgres", grant_sql(IAM_USER))
    assert granted.returncode == 0, granted.stderr
    # ... then MLflow's migrations: a role without it fails, the IAM user passes.
    # (Denied first, so no state of a passed migration can help the denied one.)
    denied, upgraded = _mlflow_upgrade(postgres, "ungranted", IAM_USER)
    assert denied is not None and "permission denied for schema public" in denied, denied
    assert upgraded is None, upgraded[-3000:]
    tables = postgres.psql(
        "bootstrap",
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = "
        + "'"
        + IAM_USER
        + "'",
    )
    assert int(tables.stdout.split()[2]) > 10, tables.stdout


# --- the Job and its identity, as synthesized ------------------------------------


def _grant_manifests(synthesized: Synthesized) -> dict[str, Json]:
    release = releases(synthesized.stack("example", "bootstrap"))["mlflow-database-grant"]
    return {m["kind"]: m for m in values_of(release)["manifests"]}


def test_job_runs_the_one_grant_sql_during_the_deploy(synthesized: Synthesized) -> None:
    manifests = _grant_manifests(synthesized)
    assert manifests["ConfigMap"]["data"]["grant.sql"] == grant_sql(IAM_USER)
    job = manifests["Job"]
    # A Helm hook: Helm waits for it, and its failure fails the release (the deploy).
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    spec = pod["spec"]
    proxy, set_password, grant = spec["initContainers"]
    assert proxy["restartPolicy"] == "Always"  # native sidecar
    assert "--private-ip" in proxy["args"] and "--auto-iam-authn" not in proxy["args"]
    assert [set_password["name"], grant["name"]] == ["set-password", "grant"]
    assert [c["name"] for c in spec["containers"]] == ["rotate"]  # runs whatever grant did
    assert spec["restartPolicy"] == "Never"
    assert spec["serviceAccountName"] == manifests["ServiceAccount"]["metadata"]["name"]
    work = next(v for v in spec["volumes"] if v["name"] == "work")
    assert work["emptyDir"]["medium"] == "Memory"  # the password never touches a disk
    text = json.dumps(manifests)
    assert "PGPASSWORD" not in text and '"password"' not in text.lower()
    stack = synthesized.stack("example", "bootstrap")
    assert "mlflow-database-grant" in dependency_closure(stack)["app-mlflow"]


def test_jobs_identity_is_limited_to_the_instance(synthesized: Synthesized) -> None:
    cluster = synthesized.stack("example", "cluster")
    roles = {
        f"${{google_project_iam_custom_role.{key}.name}}": sorted(role["permissions"])
        for key, role in resources(cluster, "google_project_iam_custom_role").items()
    }
    members = [
        m for m in resources(cluster, "google_project_iam_member").values() if m["role"] in roles
    ]
    conditioned = [m for m in members if m.get("condition")]
    (member,) = conditioned  # connecting: this instance only
    assert roles[member["role"]] == sorted(GRANT_PERMISSIONS)
    assert member["condition"]["expression"] == (
        'resource.name == "projects/example-mlops-project/instances/example-mlflow"'
    )
    # What IAM cannot condition on the instance (see the coverage test below).
    (unconditioned,) = [m for m in members if not m.get("condition")]
    assert roles[unconditioned["role"]] == sorted(GRANT_UNCONDITIONAL_PERMISSIONS)
    assert "cloudsql.instances.connect" not in roles[unconditioned["role"]]
    bindings = [
        b["member"]
        for b in resources(cluster, "google_service_account_iam_member").values()
        if b["role"] == "roles/iam.workloadIdentityUser"
    ]
    assert "serviceAccount:example-mlops-project.svc.id.goog[mlflow/mlflow-database-grant]" in (
        bindings
    )


# --- the password script, against a fake metadata server and Admin API -----------


class _FakeGoogle(http.server.BaseHTTPRequestHandler):
    passwords: ClassVar[list[str]] = []
    #: Paths of the operation polls (GET).
    polls: ClassVar[list[str]] = []
    #: The status a PUT's operation starts in; RUNNING makes the script poll.
    put_status: ClassVar[str] = "RUNNING"

    def do_GET(self) -> None:
        if self.path.endswith("/token"):
            assert self.headers["Metadata-Flavor"] == "Google"
            self._json({"access_token": "token"})
        else:
            assert self.headers["Authorization"] == "Bearer token"
            self.polls.append(self.path)
            self._json({"name": "op", "status": "DONE"})

    def do_PUT(self) -> None:
        assert self.headers["Authorization"] == "Bearer token"
        assert self.path == "/v1/projects/p/instances/i/users?name=postgres"
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.passwords.append(body["password"])
        self._json({"name": "op", "status": self.put_status})

    def _json(self, value: Json) -> None:
        data = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def _load_password_script() -> ModuleType:
    """The Job's script as a module (not a package's); it reads its URLs as it loads."""
    spec = importlib.util.spec_from_file_location("cloudsql_postgres_password", PASSWORD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_password_script_sets_uses_once_and_rotates_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _FakeGoogle)
    # shutdown() waits for the next poll: 0.5 s by default.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    passfile = tmp_path / "pgpass"
    for name, value in {
        "SQLADMIN_API": url,
        "METADATA_HOST": url,
        "PROJECT": "p",
        "INSTANCE": "i",
        "PGPASSFILE": str(passfile),
        "GRANT_RESULT": str(tmp_path / "result"),
    }.items():
        monkeypatch.setenv(name, value)
    passwords: list[str] = []
    polls: list[str] = []
    monkeypatch.setattr(_FakeGoogle, "passwords", passwords)
    monkeypatch.setattr(_FakeGoogle, "polls", polls)

    try:
        # Once as the Job runs it, a stdlib program on its own; its operation is
        # DONE at once, so it does not wait POLL_SECONDS.
        monkeypatch.setattr(_FakeGoogle, "put_status", "DONE")
        standalone = subprocess.run(
            [sys.executable, str(PASSWORD_SCRIPT), "set"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert standalone.returncode == 0, standalone.stderr
        used = passwords[-1]
        assert passfile.read_text() == f"*:*:*:postgres:{used}\n"
        assert passfile.stat().st_mode & 0o777 == 0o600
        # The other runs call main() in-process; their operations poll, without waiting.
        monkeypatch.setattr(_FakeGoogle, "put_status", "RUNNING")
        script = _load_password_script()
        monkeypatch.setattr(script, "POLL_SECONDS", 0)
        (tmp_path / "result").write_text("0\n")
        assert script.main(["script", "rotate"]) == 0
        assert passwords[-1] != used and not passfile.exists()
        # A failed grant still rotates, then fails the Job with the reason.
        assert script.main(["script", "set"]) == 0
        assert passfile.read_text() == f"*:*:*:postgres:{passwords[-1]}\n"
        assert passfile.stat().st_mode & 0o777 == 0o600
        (tmp_path / "result").write_text("3\n")
        capsys.readouterr()
        assert script.main(["script", "rotate"]) == 1
        assert "grant failed" in capsys.readouterr().err
        assert len(set(passwords)) == len(passwords) == 4
        assert polls == ["/v1/projects/p/operations/op"] * 3  # once per RUNNING operation
    finally:
        server.shutdown()
        server.server_close()


# --- issue 19 fix 4: every API call the Job makes is covered by its IAM grant ------

#: What IAM checks for each Cloud SQL Admin API call the Job makes, written down
#: independently of the product code: (HTTP method, path under /v1/ as a regex)
#: -> (API method, permission, resource type IAM evaluates the permission on).
#: Permissions: https://cloud.google.com/sql/docs/postgres/iam-permissions ("Get
#: the operations of a project | cloudsql.instances.get") and the Cloud SQL Auth
#: Proxy's README ("cloudsql.instances.connect", "cloudsql.instances.get").
_ADMIN_API_CALLS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("PUT", r"projects/[^/]+/instances/[^/]+/users\?name=postgres"): (
        "sql.users.update",
        "cloudsql.users.update",
        "sqladmin.googleapis.com/User",
    ),
    ("GET", r"projects/[^/]+/operations/[^/]+"): (
        "sql.operations.get",
        "cloudsql.instances.get",
        "sqladmin.googleapis.com/Operation",
    ),
    # The Auth Proxy (a Go binary, not run here): cloud-sql-go-connector's
    # refresh calls connectSettings and generateEphemeralCert on the instance.
    ("GET", r"projects/[^/]+/instances/[^/]+/connectSettings"): (
        "sql.connect.get",
        "cloudsql.instances.get",
        "sqladmin.googleapis.com/Instance",
    ),
    ("POST", r"projects/[^/]+/instances/[^/]+:generateEphemeralCert"): (
        "sql.connect.generateEphemeralCert",
        "cloudsql.instances.connect",
        "sqladmin.googleapis.com/Instance",
    ),
}
_PROXY_CALLS = [
    ("GET", "/v1/projects/p/instances/i/connectSettings"),
    ("POST", "/v1/projects/p/instances/i:generateEphemeralCert"),
]


def _classify(method: str, path: str) -> tuple[str, str, str]:
    for (want_method, pattern), call in _ADMIN_API_CALLS.items():
        if method == want_method and re.fullmatch("/v1/" + pattern, path):
            return call
    raise AssertionError(f"the Job calls {method} {path}: add it to _ADMIN_API_CALLS")


class _RecordingGoogle(_FakeGoogle):
    """The fake Admin API, recording each request (method, path)."""

    requests: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        if not self.path.endswith("/token"):
            self.requests.append(("GET", self.path))
        super().do_GET()

    def do_PUT(self) -> None:
        self.requests.append(("PUT", self.path))
        super().do_PUT()


@contextlib.contextmanager
def _fake_google(
    handler: type[http.server.BaseHTTPRequestHandler],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for name, value in {
        "SQLADMIN_API": url,
        "METADATA_HOST": url,
        "PROJECT": "p",
        "INSTANCE": "i",
        "PGPASSFILE": str(tmp_path / "pgpass"),
        "GRANT_RESULT": str(tmp_path / "result"),
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _bindings(synthesized: Synthesized) -> list[tuple[set[str], str | None]]:
    """The grant identity's bindings: (permissions of its role, condition expression)."""
    cluster = synthesized.stack("example", "cluster")
    roles = resources(cluster, "google_project_iam_custom_role")
    by_ref = {f"${{google_project_iam_custom_role.{k}.name}}": r for k, r in roles.items()}
    members = [
        m
        for m in resources(cluster, "google_project_iam_member").values()
        if m["role"] in by_ref and "grant-identity" in m["member"]
    ]
    assert members, "no binding for the grant identity"
    return [
        (set(by_ref[m["role"]]["permissions"]), (m.get("condition") or {}).get("expression"))
        for m in members
    ]


def test_grant_covers_every_api_call_the_job_makes(
    synthesized: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests: list[tuple[str, str]] = []
    monkeypatch.setattr(_RecordingGoogle, "requests", requests)
    monkeypatch.setattr(_RecordingGoogle, "put_status", "RUNNING")  # so it polls
    with _fake_google(_RecordingGoogle, tmp_path, monkeypatch):
        script = _load_password_script()
        monkeypatch.setattr(script, "POLL_SECONDS", 0)
        assert script.main(["script", "set"]) == 0
        (tmp_path / "result").write_text("0\n")
        assert script.main(["script", "rotate"]) == 0
    assert {method for method, _ in requests} == {"PUT", "GET"}
    calls = {_classify(method, path) for method, path in [*requests, *_PROXY_CALLS]}
    bindings = _bindings(synthesized)
    uncovered = []
    for name, permission, resource_type in sorted(calls):
        unconditional = any(permission in p and c is None for p, c in bindings)
        # A condition on resource.name can only hold on a type IAM evaluates.
        conditional = resource_type in IAM_CONDITION_RESOURCE_TYPES and any(
            permission in p and c is not None for p, c in bindings
        )
        if not (unconditional or conditional):
            uncovered.append(f"{name} needs {permission} on {resource_type}")
    assert not uncovered, uncovered
    # Nothing beyond what the calls need, and the instance-only binding stays.
    assert set().union(*(p for p, _ in bindings)) == {c[1] for c in calls}
    assert any(
        c == 'resource.name == "projects/example-mlops-project/instances/example-mlflow"'
        and "cloudsql.instances.connect" in p
        for p, c in bindings
    )


# --- issue 19 fix 5: IAM propagation --------------------------------------------


class _FlakyGoogle(_FakeGoogle):
    """The fake Admin API answering the first `denials` PUTs with 403."""

    denials: ClassVar[int] = 0
    puts: ClassVar[list[int]] = []

    def do_PUT(self) -> None:
        self.puts.append(1)
        if len(self.puts) <= self.denials:
            data = b'{"error": {"code": 403, "message": "not authorized"}}'
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(403)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_PUT()


def _fake_time(monkeypatch: pytest.MonkeyPatch, script: ModuleType) -> list[float]:
    """A clock that only sleeping advances; returns the sleeps."""
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(script, "sleep", sleep, raising=False)
    monkeypatch.setattr(script, "clock", lambda: now[0], raising=False)
    return sleeps


def test_password_script_retries_a_403_while_iam_propagates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_FlakyGoogle, "denials", 3)
    monkeypatch.setattr(_FlakyGoogle, "puts", [])
    monkeypatch.setattr(_FlakyGoogle, "put_status", "DONE")
    with _fake_google(_FlakyGoogle, tmp_path, monkeypatch):
        script = _load_password_script()
        sleeps = _fake_time(monkeypatch, script)
        assert script.main(["script", "set"]) == 0
    assert len(_FlakyGoogle.puts) == 4
    assert len(sleeps) == 3 and sleeps == sorted(sleeps) and sleeps[0] < sleeps[-1]
    retries = [line for line in capsys.readouterr().err.splitlines() if "retry" in line]
    assert len(retries) == 3 and all("HTTP 403" in line for line in retries), retries


def test_password_script_fails_a_permanent_403_within_its_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_FlakyGoogle, "denials", 10**6)
    monkeypatch.setattr(_FlakyGoogle, "puts", [])
    with _fake_google(_FlakyGoogle, tmp_path, monkeypatch):
        script = _load_password_script()
        sleeps = _fake_time(monkeypatch, script)
        with pytest.raises(SystemExit) as failed:
            script.main(["script", "set"])
    message = str(failed.value)
    assert "HTTP 403" in message and "cloudsql.users.update" in message, message
    # The steps' budgets together fit the release's (and the Job's) 900 s.
    budget = script.RETRY_BUDGET_SECONDS
    assert len(sleeps) > 3 and sum(sleeps) <= budget["set"]
    # The steps' budgets together fit the Job's and the release's 900 s, with
    # room for scheduling and image pulls.
    assert budget["set"] + GRANT_PROXY_WAIT_SECONDS + budget["rotate"] <= 900 - 120
