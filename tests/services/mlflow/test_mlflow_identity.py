"""Issue 21: MLflow knows who calls it, inside a real MLflow and a real JupyterHub.

Started once for the module, on loopback:
- PostgreSQL (the session's Cloud SQL-like server): MLflow's auth database,
  made like Cloud SQL's (owned by cloudsqlsuperuser), granted by the grant
  Job's SQL; MLflow logs in as the IAM user, with the user name and empty
  password exactly as the chart's auth ini carries them.
- JupyterHub 5.5.0 with the synthesized hub.config and hub.extraConfig (the
  IAP authenticator and the MLflow access snippet), run as the chart runs
  them (services and roles emptied first). Only test pieces around it: a
  no-op proxy, a spawner that records the environment of the user server it
  would start, and a test admin service that creates users, starts servers
  and mints the odd tokens the refusals need.
- MLflow 3.15.1 ($MLFLOW_BIN, the version the chart runs) as the chart runs
  it: `mlflow server --app-name basic-auth`, the auth ini rendered as the
  chart's ini-file-initializer renders it, and the platform's authorization
  function as the chart's extraDeploy ConfigMap holds it (one line changed:
  HUB_API_URL points at the loopback hub instead of the in-cluster Service).
- Two tiny proxies standing in for MLflow's sidecar: each drops the client's
  X-Forwarded-Client-Cert and writes one element naming its mTLS peer, one the
  gateway, one a user server (notebook).
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, unquote

import pytest
import requests

from platform_services.istio import workloads as istio_pods
from platform_services.istio.mesh import IDENTITY_HEADER
from platform_services.jupyterhub import workloads as jupyterhub_pods
from platform_services.jupyterhub.values import MLFLOW_ACCESS_CONFIG_KEY
from platform_services.mlflow.database_grant import grant_sql
from platform_services.mlflow.values import (
    AUTH_DATABASE_SECRET_NAME,
    AUTH_MODULE,
    AUTH_MODULE_CONFIGMAP,
)
from tests.support.postgres_server import BOOTSTRAP_ROLE, Postgres
from tests.support.stacks import releases, values_of
from tests.support.synth import Synthesized

GATEWAY_URI = "spiffe://" + istio_pods.GATEWAY.principal
USER_POD_URI = "spiffe://" + jupyterhub_pods.jupyterhub_workloads("jupyterhub")["user"].principal
MLFLOW_URI = "spiffe://cluster.local/ns/mlflow/sa/mlflow"
ALICE = "alice@example.com"
#: apps.mlflow.auth.admins of config/example.yaml.
ADMIN = "admin@example.com"
BOB = "bob@example.com"
STARTUP_SECONDS = 300  # a busy shared machine
CURRENT_USER = "/api/2.0/mlflow/users/current"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _app_values(synthesized: Synthesized, app: str) -> Any:
    stack = synthesized.stack("example", "bootstrap")
    apps = values_of(releases(stack)[f"app-{app}"])
    return apps["applications"][app]["source"]["helm"]["valuesObject"]


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or busy starting
        assert process.poll() is None, f"{what} exited\n" + log.read_text(errors="replace")[-4000:]
        assert time.monotonic() < deadline, f"{what} did not start\n" + log.read_text()[-4000:]
        time.sleep(0.3)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


# --- JupyterHub --------------------------------------------------------------------

HUB_HARNESS = '''
import json, os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from jupyterhub.proxy import Proxy
from jupyterhub.spawner import Spawner


class LoopbackTestProxy(Proxy):
    should_start = False

    async def add_route(self, routespec, target, data):
        pass

    async def delete_route(self, routespec):
        pass

    async def get_all_routes(self):
        return {{}}


class _Up(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


_up = ThreadingHTTPServer(("127.0.0.1", 0), _Up)
threading.Thread(target=_up.serve_forever, daemon=True).start()


class RecordingSpawner(Spawner):
    """Starts nothing: records the MLFLOW_* environment a user server would get."""

    _running = False

    async def start(self):
        env = self.get_env()
        with open(os.path.join({directory!r}, "env-" + self.user.name + ".json"), "w") as out:
            json.dump({{k: v for k, v in env.items() if k.startswith("MLFLOW_")}}, out)
        self._running = True
        return ("127.0.0.1", _up.server_address[1])

    async def poll(self):
        return None if self._running else 0

    async def stop(self, now=False):
        self._running = False


c.JupyterHub.proxy_class = LoopbackTestProxy
c.JupyterHub.spawner_class = RecordingSpawner
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.db_url = "sqlite:///{directory}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret = "{cookie}"
c.CryptKeeper.keys = ["{cookie}"]
c.JupyterHub.pid_file = "{directory}/jupyterhub.pid"
c.ConfigurableHTTPProxy.auth_token = "unused"

for section, settings in json.loads({config!r}).items():
    if section != "KubeSpawner":
        for key, value in settings.items():
            if (section, key) not in {{("JupyterHub", "cookie_secret"), ("CryptKeeper", "keys")}}:
                setattr(getattr(c, section), key, value)

# As z2jh's jupyterhub_config.py: services and roles start empty, then the
# chart's own, then hub.extraConfig.
c.JupyterHub.services = [
    {{"name": "test-admin", "api_token": {admin_token!r}}},
    {{"name": "other"}},
]
c.JupyterHub.load_roles = [
    {{
        "name": "test-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:services!service=mlflow"],
        "services": ["test-admin"],
    }},
    # So that a user can hold a token for another service.
    {{"name": "other-users", "scopes": ["access:services!service=other"], "users": {users!r}}},
]
for key, snippet in sorted(json.loads({extra!r}).items()):
    exec(snippet)
'''


@dataclass
class Hub:
    url: str
    admin_token: str
    directory: Path

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"token {self.admin_token}"}
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs
        )

    def token(self, user: str, scopes: list[str]) -> str:
        response = self.api("POST", f"/users/{quote(user)}/tokens", json={"scopes": scopes})
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token

    def spawn(self, user: str) -> dict[str, str]:
        """Start the user's server; the MLFLOW_* environment it gets."""
        response = self.api("POST", f"/users/{quote(user)}/server")
        assert response.status_code in (201, 202), response.text
        deadline = time.monotonic() + 60
        while (
            not self.api("GET", f"/users/{quote(user)}").json()["servers"].get("", {}).get("ready")
        ):
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        env: dict[str, str] = json.loads((self.directory / f"env-{user}.json").read_text())
        return env


@pytest.fixture(scope="module")
def hub(synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    values = _app_values(synthesized, "jupyterhub")
    assert MLFLOW_ACCESS_CONFIG_KEY in values["hub"]["extraConfig"]
    directory = tmp_path_factory.mktemp("hub")
    port = _free_port()
    admin_token = secrets.token_hex(32)
    config = directory / "jupyterhub_config.py"
    config.write_text(
        HUB_HARNESS.format(
            port=port,
            directory=str(directory),
            cookie=secrets.token_hex(32),
            config=json.dumps(values["hub"]["config"]),
            extra=json.dumps(values["hub"]["extraConfig"]),
            admin_token=admin_token,
            users=[ALICE],
        )
    )
    log = directory / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=directory,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(f"{url}/hub/health", process, log, "JupyterHub")
        hub = Hub(url=url, admin_token=admin_token, directory=directory)
        for user in (ALICE, BOB):
            created = hub.api("POST", f"/users/{quote(user)}")
            assert created.status_code in (201, 409), created.text
        yield hub
    finally:
        _stop(process)


# --- MLflow behind stand-in sidecars --------------------------------------------------


class _Sidecar(http.server.BaseHTTPRequestHandler):
    """MLflow's inbound sidecar, for one mTLS peer: XFCC replaced by that peer."""

    protocol_version = "HTTP/1.1"
    upstream: ClassVar[int]
    peer: ClassVar[str]
    _HOP = frozenset({"x-forwarded-client-cert", "connection", "keep-alive", "transfer-encoding"})

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in self._HOP}
        headers["X-Forwarded-Client-Cert"] = f'By={MLFLOW_URI};Hash=0a1b;Subject="";URI={self.peer}'
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=120)
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def log_message(self, *args: object) -> None:
        pass


def _sidecar(upstream: int, peer: str) -> http.server.ThreadingHTTPServer:
    handler = type("Sidecar", (_Sidecar,), {"upstream": upstream, "peer": peer})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Mlflow:
    gateway: str
    """MLflow as the gateway reaches it (browser requests)."""
    notebook: str
    """MLflow as a user server reaches it."""
    origin: str
    admin: tuple[str, str]
    directory: Path


def _auth_database(postgres_server: Postgres, name: str, user: str) -> None:
    """The auth database as Cloud SQL makes it, and the grant Job's SQL in it."""
    postgres_server.add_database(name, [])
    role = user.replace("'", "''")
    created = postgres_server.psql(
        BOOTSTRAP_ROLE,
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
        f'THEN CREATE ROLE "{user}" LOGIN; END IF; END $$;',
    )
    assert created.returncode == 0, created.stderr
    granted = postgres_server.psql("postgres", grant_sql(user), database=name)
    assert granted.returncode == 0, granted.stderr


def _ini(values: Any, secret: dict[str, str], port: int, admin: tuple[str, str]) -> str:
    """The auth ini as the chart's auth_ini_configmap + ini-file-initializer make it."""
    auth = values["auth"]
    postgres = auth["postgres"]
    assert postgres["host"] == "127.0.0.1"  # the Cloud SQL Auth Proxy sidecar
    return (
        "[mlflow]\n"
        f"default_permission = {auth['defaultPermission']}\n"
        f"database_uri = postgresql://{secret['username']}:{secret['password']}"
        f"@127.0.0.1:{port}/{postgres['database']}\n"
        f"admin_username = {admin[0]}\n"
        f"admin_password = {admin[1]}\n"
        f"authorization_function = {auth['authorizationFunction']}\n"
    )


def _extra(values: Any, kind: str, name: str) -> Any:
    return next(
        o for o in values["extraDeploy"] if o["kind"] == kind and o["metadata"]["name"] == name
    )


@pytest.fixture(scope="module")
def mlflow(
    synthesized: Synthesized,
    hub: Hub,
    postgres_server: Postgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Mlflow]:
    binary = os.environ.get("MLFLOW_BIN", "")
    if not Path(binary).is_file():
        pytest.skip("MLFLOW_BIN not set (make test installs mlflow into .tools/mlflow)")
    values = _app_values(synthesized, "mlflow")
    directory = tmp_path_factory.mktemp("mlflow")
    secret = _extra(values, "Secret", AUTH_DATABASE_SECRET_NAME)["stringData"]
    # configparser reads "%%" as "%"; the URI's "%40" is the "@" of the IAM user.
    _auth_database(
        postgres_server,
        values["auth"]["postgres"]["database"],
        unquote(secret["username"].replace("%%", "%")),
    )
    admin = (secrets.token_hex(16), secrets.token_hex(32))
    (directory / "auth.ini").write_text(_ini(values, secret, postgres_server.port, admin))
    module = _extra(values, "ConfigMap", AUTH_MODULE_CONFIGMAP)["data"][f"{AUTH_MODULE}.py"]
    lines = [
        f"HUB_API_URL = {hub.url + '/hub/api'!r}" if line.startswith("HUB_API_URL = ") else line
        for line in module.splitlines()
    ]
    (directory / f"{AUTH_MODULE}.py").write_text("\n".join(lines) + "\n")
    port = _free_port()
    log = directory / "mlflow.log"
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(directory / "auth.ini"),
        "PYTHONPATH": str(directory),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS": ",".join(values["corsAllowedOrigins"]),
    }
    command = [
        binary, "server", "--app-name", "basic-auth", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{directory}/mlflow.sqlite",
        "--artifacts-destination", str(directory / "artifacts"), "--serve-artifacts",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=directory, env=env, stdout=out, stderr=out)
    gateway = _sidecar(port, GATEWAY_URI)
    notebook = _sidecar(port, USER_POD_URI)
    try:
        _wait(f"http://127.0.0.1:{port}/health", process, log, "MLflow")
        yield Mlflow(
            gateway=f"http://127.0.0.1:{gateway.server_address[1]}",
            notebook=f"http://127.0.0.1:{notebook.server_address[1]}",
            origin=values["corsAllowedOrigins"][0],
            admin=admin,
            directory=directory,
        )
    finally:
        gateway.shutdown()
        notebook.shutdown()
        _stop(process)


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, dict[str, str]]:
    """Each user's MLFLOW_* environment, as their spawned server gets it."""
    return {user: hub.spawn(user) for user in (ALICE, BOB)}


def _browser(mlflow: Mlflow, user: str, *, origin: str | None = "") -> dict[str, str]:
    headers = {IDENTITY_HEADER: user}
    if origin is not None:
        headers["Origin"] = origin or mlflow.origin
    return headers


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _call(base: str, method: str, path: str, headers: dict[str, str], **body: Any) -> Any:
    if method == "GET":
        return requests.get(base + path, params=body, headers=headers, timeout=60)
    return requests.request(method, base + path, json=body, headers=headers, timeout=60)


def _whoami(base: str, headers: dict[str, str]) -> str | None:
    response = _call(base, "GET", CURRENT_USER, headers)
    if response.status_code != 200:
        return None
    name: str = response.json()["user"]["username"]
    return name


@pytest.fixture(scope="module")
def alices_experiment(mlflow: Mlflow) -> tuple[str, str]:
    """Alice, in her browser, creates an experiment and logs a run in it."""
    headers = _browser(mlflow, ALICE)
    created = _call(mlflow.gateway, "POST", "/api/2.0/mlflow/experiments/create", headers,
                    name="alice-browser")  # fmt: skip
    assert created.status_code == 200, created.text
    experiment = created.json()["experiment_id"]
    run = _call(mlflow.gateway, "POST", "/api/2.0/mlflow/runs/create", headers,
                experiment_id=experiment)  # fmt: skip
    assert run.status_code == 200, run.text
    run_id = run.json()["run"]["info"]["run_id"]
    logged = _call(mlflow.gateway, "POST", "/api/2.0/mlflow/runs/log-metric", headers,
                   run_id=run_id, key="loss", value=0.5, timestamp=0)  # fmt: skip
    assert logged.status_code == 200, logged.text
    return experiment, run_id


# --- the checks ------------------------------------------------------------------------


def test_browser_identity_is_the_gateways_header(mlflow: Mlflow) -> None:
    assert _whoami(mlflow.gateway, _browser(mlflow, ALICE)) == ALICE
    assert _whoami(mlflow.gateway, _browser(mlflow, "Bob@Example.com")) == BOB
    # No header, or no email in it: nobody.
    assert _whoami(mlflow.gateway, {}) is None
    assert _whoami(mlflow.gateway, {IDENTITY_HEADER: "not-an-email"}) is None


def test_others_read_but_cannot_change_or_delete(
    mlflow: Mlflow, alices_experiment: tuple[str, str], tokens: dict[str, dict[str, str]]
) -> None:
    experiment, run_id = alices_experiment
    bob = _browser(mlflow, BOB)
    read = _call(mlflow.gateway, "GET", "/api/2.0/mlflow/experiments/get", bob,
                 experiment_id=experiment)  # fmt: skip
    assert read.status_code == 200, read.text
    run = _call(mlflow.gateway, "GET", "/api/2.0/mlflow/runs/get", bob, run_id=run_id)
    assert run.json()["run"]["data"]["metrics"][0]["key"] == "loss"
    bobs_token = _bearer(tokens[BOB]["MLFLOW_TRACKING_TOKEN"])
    for base, headers in ((mlflow.gateway, bob), (mlflow.notebook, bobs_token)):
        for path, body in (
            ("/api/2.0/mlflow/experiments/update", {"experiment_id": experiment, "new_name": "x"}),
            ("/api/2.0/mlflow/experiments/delete", {"experiment_id": experiment}),
            ("/api/2.0/mlflow/runs/update", {"run_id": run_id, "run_name": "x"}),
            ("/api/2.0/mlflow/runs/log-metric",
             {"run_id": run_id, "key": "loss", "value": 9.0, "timestamp": 1}),
            ("/api/2.0/mlflow/runs/delete", {"run_id": run_id}),
        ):  # fmt: skip
            response = _call(base, "POST", path, headers, **body)
            assert response.status_code == 403, (path, response.status_code, response.text)


def test_a_notebook_token_acts_as_its_user(
    mlflow: Mlflow, alices_experiment: tuple[str, str], tokens: dict[str, dict[str, str]]
) -> None:
    experiment, _ = alices_experiment
    alice = _bearer(tokens[ALICE]["MLFLOW_TRACKING_TOKEN"])
    assert _whoami(mlflow.notebook, alice) == ALICE
    assert (
        _whoami(mlflow.notebook, {"Authorization": "token " + alice["Authorization"][7:]}) == ALICE
    )
    renamed = _call(mlflow.notebook, "POST", "/api/2.0/mlflow/experiments/update", alice,
                    experiment_id=experiment, new_name="alice-renamed")  # fmt: skip
    assert renamed.status_code == 200, renamed.text


def test_admins_from_the_config_manage_everything(
    mlflow: Mlflow, alices_experiment: tuple[str, str]
) -> None:
    experiment, run_id = alices_experiment
    admin = _browser(mlflow, ADMIN)
    renamed = _call(mlflow.gateway, "POST", "/api/2.0/mlflow/experiments/update", admin,
                    experiment_id=experiment, new_name="renamed-by-an-admin")  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    tagged = _call(mlflow.gateway, "POST", "/api/2.0/mlflow/runs/set-tag", admin,
                   run_id=run_id, key="reviewed", value="yes")  # fmt: skip
    assert tagged.status_code == 200, tagged.text
    flags = {
        user: _call(
            mlflow.gateway, "GET", "/api/2.0/mlflow/users/get", admin, username=user
        ).json()["user"]["is_admin"]
        for user in (ADMIN, ALICE)
    }
    assert flags == {ADMIN: True, ALICE: False}


def test_the_identity_header_from_any_other_caller_is_refused(
    mlflow: Mlflow, tokens: dict[str, dict[str, str]]
) -> None:
    # A user server (or anything not the gateway) claiming to be Alice.
    forged = {IDENTITY_HEADER: ALICE, "Origin": mlflow.origin}
    assert _whoami(mlflow.notebook, forged) is None
    bobs = {**forged, **_bearer(tokens[BOB]["MLFLOW_TRACKING_TOKEN"])}
    assert _whoami(mlflow.notebook, bobs) is None
    # The gateway's element behind another hop is not the gateway calling.
    relayed = {**forged, "X-Forwarded-Client-Cert": f"URI={GATEWAY_URI}"}
    assert _whoami(mlflow.notebook, relayed) is None


def test_only_a_users_token_with_mlflows_scope_is_accepted(mlflow: Mlflow, hub: Hub) -> None:
    other_service = hub.token(ALICE, ["access:services!service=other"])
    no_scope = hub.token(ALICE, ["read:users:name!user"])
    full = hub.token(ALICE, ["access:services!service=mlflow"])
    assert _whoami(mlflow.notebook, _bearer(full)) == ALICE
    refused = {
        "another service's token": _bearer(other_service),
        "a token without MLflow's scope": _bearer(no_scope),
        "a service's token, even with the scope": _bearer(hub.admin_token),
        "no token": {},
        "an unknown token": _bearer(secrets.token_hex(32)),
        "the chart's admin, basic auth": {
            "Authorization": "Basic " + base64.b64encode(":".join(mlflow.admin).encode()).decode()
        },
    }
    for case, headers in refused.items():
        response = _call(mlflow.notebook, "GET", CURRENT_USER, headers)
        assert response.status_code in (401, 403), (case, response.status_code, response.text)
        assert "WWW-Authenticate" not in response.headers, case  # no password prompt
    # Nor through the gateway: the admin's password opens nothing.
    basic = refused["the chart's admin, basic auth"]
    assert _call(mlflow.gateway, "GET", CURRENT_USER, basic).status_code == 401


def test_browser_writes_need_mlflows_own_origin(mlflow: Mlflow) -> None:
    create = "/api/2.0/mlflow/experiments/create"
    for origin in ("https://evil.example", "http://localhost:8888", None):
        headers = _browser(mlflow, ALICE, origin=origin)
        response = _call(mlflow.gateway, "POST", create, headers, name=f"csrf-{origin}")
        assert response.status_code == 403, (origin, response.text)
        # Reading stays possible (a cross-site page cannot read the answer).
        assert _whoami(mlflow.gateway, headers) == ALICE
    ok = _call(mlflow.gateway, "POST", create, _browser(mlflow, ALICE), name="same-origin")
    assert ok.status_code == 200, ok.text


CLIENT = """
import json, mlflow
mlflow.set_experiment("first-notebook")
with mlflow.start_run() as run:
    mlflow.log_param("lr", 0.1)
    mlflow.log_metric("loss", 0.25)
    mlflow.log_text("hello", "notes.txt")
print(json.dumps({"experiment": run.info.experiment_id, "run": run.info.run_id}))
"""


def test_an_mlflow_client_set_up_as_user_servers_are_logs_a_run(
    mlflow: Mlflow, tokens: dict[str, dict[str, str]]
) -> None:
    env = tokens[ALICE]
    assert set(env) == {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN"}
    assert env["MLFLOW_TRACKING_URI"].startswith("http://mlflow.mlflow.svc.cluster.local")
    python = Path(os.environ["MLFLOW_BIN"]).parent / "python"
    run = subprocess.run(
        [str(python), "-c", CLIENT],
        # Only the in-cluster name is replaced (no cluster DNS here).
        env={**os.environ, **env, "MLFLOW_TRACKING_URI": mlflow.notebook},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=mlflow.directory,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ids = json.loads(run.stdout.splitlines()[-1])
    # MLflow's permission store: the experiment is Alice's (MANAGE), not Bob's.
    query = {"resource_type": "experiment", "resource_id": ids["experiment"]}
    permission = {
        user: _call(mlflow.gateway, "GET", "/api/3.0/mlflow/users/permissions/get",
                    _browser(mlflow, user), username=user, **query)
        for user in (ALICE, BOB)
    }  # fmt: skip
    assert permission[ALICE].json()["permission"] == "MANAGE", permission[ALICE].text
    assert permission[BOB].json()["permission"] == "READ", permission[BOB].text
    artifact = requests.get(
        f"{mlflow.gateway}/get-artifact",
        params={"run_uuid": ids["run"], "path": "notes.txt"},
        headers=_browser(mlflow, BOB),
        timeout=60,
    )
    assert artifact.text == "hello", artifact.text
    deleted = _call(mlflow.gateway, "POST", "/api/2.0/mlflow/runs/delete",
                    _browser(mlflow, BOB), run_id=ids["run"])  # fmt: skip
    assert deleted.status_code == 403, deleted.text


def test_a_stopped_servers_token_is_deleted(hub: Hub, tokens: dict[str, dict[str, str]]) -> None:
    token = {"Authorization": "token " + tokens[BOB]["MLFLOW_TRACKING_TOKEN"]}
    whoami = f"{hub.url}/hub/api/user"
    assert requests.get(whoami, headers=token, timeout=30).status_code == 200
    stopped = hub.api("DELETE", f"/users/{quote(BOB)}/server")
    assert stopped.status_code in (202, 204), stopped.text
    deadline = time.monotonic() + 60
    while hub.api("GET", f"/users/{quote(BOB)}").json()["servers"]:
        assert time.monotonic() < deadline, "the server did not stop"
        time.sleep(0.2)
    assert requests.get(whoami, headers=token, timeout=30).status_code == 403
