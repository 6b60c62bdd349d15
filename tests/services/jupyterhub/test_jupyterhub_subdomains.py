"""One origin per user, inside a real JupyterHub, its real proxy and a real browser.

What runs, and what is real:
- JupyterHub 5.5.0 (the version zero-to-jupyterhub 4.4.0's hub image ships)
  with the hub.config and hub.extraConfig the bootstrap stack synthesized
  (subdomain_host, cookie_host_prefix_enabled, the platform's authenticator),
  applied the way the chart's jupyterhub_config.py applies them;
- configurable-http-proxy 5.2.0 (zero-to-jupyterhub 4.4.0's proxy image tag),
  from npm (`make` installs it into .tools/chp), with the flags the chart
  gives it, `--host-routing` included exactly when subdomain_host is set
  (templates/proxy/deployment.yaml); the hub drives it through its REST API;
- Chromium from Debian, headless, a fresh profile, driven over the DevTools
  protocol (`--remote-debugging-pipe`), with `jupyterhub.test` and
  `*.jupyterhub.test` mapped to the proxy (`--host-resolver-rules`), so the
  URLs, cookies and origins are the production ones with another domain.

Stand-ins: the proxy also ends TLS (a self-signed certificate for
jupyterhub.test and *.jupyterhub.test, which Chromium is told to accept) and
adds the headers the gateway and the hub's sidecar would (the IAP identity of
the one browser, Bob; X-Forwarded-Client-Cert naming the proxy): in the
cluster that is the load balancer, IAP, the Istio gateway and the sidecar.
User servers are standin_user_server.py (JupyterHub's own HubOAuth sign-in
for servers, a page with a secret, an action, and an unauthenticated page
that stands for whatever its owner's code serves), started by JupyterHub's
SimpleLocalProcessSpawner instead of KubeSpawner.

The attack: Alice's server serves a page; Bob, signed in, opens it. Its
script tries to read the hub's API as Bob and to read and act in Bob's
server. With one origin per user it must fail; with the hub's origin shared
(subdomain_host unset, the platform before this change) the same page
succeeds, which the control run shows (so the attack is not vacuous).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from platform_services.jupyterhub import workloads as jupyterhub_pods
from tests.support.stacks import releases, values_of
from tests.support.synth import Synthesized
from tests.support.variants import ROOT

CHP = ROOT / ".tools" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
CHROMIUM = shutil.which("chromium")
STANDIN = Path(__file__).with_name("standin_user_server.py")
DOMAIN = "jupyterhub.test"
HUB_ORIGIN = f"https://{DOMAIN}"
BOB = "bob@example.com"
ALICE = "alice@example.com"
PROXY_URI = "spiffe://" + jupyterhub_pods.jupyterhub_workloads("jupyterhub")["proxy"].principal
STARTUP_SECONDS = 60
#: hub.config keys the chart loads from mounted Secrets instead (as in
#: test_jupyterhub_auth.py); the harness sets test values for them.
FROM_MOUNTED_SECRET = {
    ("JupyterHub", "cookie_secret"),
    ("JupyterHub", "proxy_auth_token"),
    ("JupyterHub", "services"),
    ("ConfigurableHTTPProxy", "auth_token"),
    ("CryptKeeper", "keys"),
}

HARNESS = """
import json, sys

for section, settings in json.loads({config!r}).items():
    if section != "KubeSpawner":  # not installed here: SimpleLocalProcessSpawner below
        for key, value in settings.items():
            if (section, key) not in {secret_keys!r}:
                setattr(getattr(c, section), key, value)
for key, snippet in sorted(json.loads({extra!r}).items()):
    exec(snippet)

c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.JupyterHub.db_url = "sqlite:///{directory}/jupyterhub.sqlite"
c.JupyterHub.pid_file = "{directory}/jupyterhub.pid"
c.JupyterHub.cookie_secret = {secret!r}
c.CryptKeeper.keys = [{secret!r}]
# The proxy runs on its own (as in the chart); the hub drives its API.
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.auth_token = {proxy_token!r}
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = "{directory}/home/{{username}}"
c.Spawner.cmd = [sys.executable, {standin!r}]
c.Spawner.args = []
c.Spawner.default_url = ""
c.Spawner.environment = {{"NOTES_DIR": "{directory}/notes"}}
c.Spawner.start_timeout = 30
c.Spawner.http_timeout = 30
# The test starts both users' servers through the API (added to, not in place
# of, the services and roles the synthesized snippets registered: MLflow's).
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {admin_token!r}}})
c.JupyterHub.load_roles.append(
    {{"name": "test-admin", "scopes": ["admin:users", "admin:servers"], "services": ["test-admin"]}}
)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for jupyterhub.test and *.jupyterhub.test
    (the load balancer's certificates: the hub's host and the users' wildcard)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DOMAIN)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(DOMAIN), x509.DNSName(f"*.{DOMAIN}")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / "tls.key", directory / "tls.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


class Browser:
    """Headless Chromium over the DevTools protocol on a pipe (fd 3: commands
    in, fd 4: replies and events out, NUL-terminated JSON)."""

    def __init__(self, directory: Path, proxy_port: int) -> None:
        assert CHROMIUM, "chromium is not installed (make installs it)"
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Above 4, so that placing them on 3 and 4 in the child clobbers nothing.
        high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        for fd in (to_chrome_r, from_chrome_w):
            os.close(fd)

        def on_fds_3_and_4() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        rules = f"MAP *.{DOMAIN} 127.0.0.1:{proxy_port}, MAP {DOMAIN} 127.0.0.1:{proxy_port}"
        self._log = (directory / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                f"--user-data-dir={directory / 'profile'}",
                f"--host-resolver-rules={rules}",
                # The proxy's certificate is self-signed (the test's load balancer).
                "--ignore-certificate-errors",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(3, 4),
            preexec_fn=on_fds_3_and_4,  # noqa: PLW1509 (the test runs no threads here)
        )
        for fd in (high_r, high_w):
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next_id:
                    assert "error" not in reply, (method, reply["error"])
                    result: dict[str, Any] = reply["result"]
                    return result
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"Chromium did not answer {method}"
            ready, _, _ = select.select([self._from_chrome], [], [], remaining)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 16)
                assert chunk, "Chromium closed the DevTools pipe"
                self._buffer += chunk

    def evaluate(self, expression: str) -> Any:
        reply = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        return reply["result"].get("value")

    def open(self, url: str, until: str, seconds: float = 30) -> Any:
        """Navigate, then wait until the JavaScript expression `until` is truthy."""
        self.send("Page.navigate", {"url": url}, session=self.session)
        deadline = time.monotonic() + seconds
        while True:
            value = self.evaluate(
                f"(() => {{ try {{ return {until}; }} catch (e) {{ return null; }} }})()"
            )
            if value:
                return value
            assert time.monotonic() < deadline, (
                f"{url}: {until} never held; at {self.evaluate('location.href')}: "
                + str(self.evaluate("document.body && document.body.innerText"))[:500]
            )
            time.sleep(0.3)

    def cookies(self) -> list[dict[str, Any]]:
        cookies: list[dict[str, Any]] = self.send("Storage.getCookies")["cookies"]
        return cookies

    def close(self) -> None:
        with contextlib.suppress(AssertionError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        self._log.close()


def _hub_values(synthesized: Synthesized) -> Any:
    apps = values_of(releases(synthesized.stack("example", "bootstrap"))["app-jupyterhub"])
    return apps["applications"]["jupyterhub"]["source"]["helm"]["valuesObject"]


def _wait(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            requests.get(url, timeout=2, verify=False)
            return
        except requests.ConnectionError:
            pass
        assert process.poll() is None, log.read_text(errors="replace")[-4000:]
        assert time.monotonic() < deadline, f"{url} did not come up\n" + log.read_text()[-4000:]
        time.sleep(0.3)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the process and its children: it was started in a session of its
    own (`node` on PATH may be a wrapper that starts the real node as a child)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):  # a child that outlived its parent
        os.killpg(process.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Deployment:
    """A running hub + proxy, its users' servers and Bob's browser."""

    directory: Path
    hub_api: str
    admin_token: str
    browser: Browser
    per_user_origins: bool

    def server_url(self, user: str) -> str:
        """The user's server as the hub publishes it (a full URL on the
        user's host with subdomain_host; else a path on the hub's host)."""
        response = requests.get(
            f"{self.hub_api}/users/{quote(user, safe='')}",
            headers={"Authorization": f"token {self.admin_token}"},
            timeout=10,
        )
        response.raise_for_status()
        url: str = response.json()["servers"][""]["url"]
        return url if url.startswith("https://") else HUB_ORIGIN + url


def _start_server(hub_api: str, token: str, user: str) -> None:
    headers = {"Authorization": f"token {token}"}
    name = quote(user, safe="")
    requests.post(f"{hub_api}/users/{name}", headers=headers, timeout=10)
    requests.post(f"{hub_api}/users/{name}/server", headers=headers, timeout=30)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        model = requests.get(f"{hub_api}/users/{name}", headers=headers, timeout=10).json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return
        assert time.monotonic() < deadline, f"the server of {user} did not start: {model}"
        time.sleep(0.3)


@contextlib.contextmanager
def _deployment(
    synthesized: Synthesized, directory: Path, *, per_user_origins: bool
) -> Iterator[Deployment]:
    values = _hub_values(synthesized)
    hub_config = json.loads(json.dumps(values["hub"]["config"]))
    # The synthesized values, with the test's domain for the platform's.
    assert hub_config["JupyterHub"]["subdomain_host"].startswith("https://jupyterhub.")
    if per_user_origins:
        hub_config["JupyterHub"]["subdomain_host"] = HUB_ORIGIN
    else:
        del hub_config["JupyterHub"]["subdomain_host"]
    (directory / "notes").mkdir()
    hub_port, api_port, proxy_port = _free_port(), _free_port(), _free_port()
    proxy_token, admin_token = secrets.token_hex(32), secrets.token_hex(32)
    config = directory / "jupyterhub_config.py"
    config.write_text(
        HARNESS.format(
            config=json.dumps(hub_config),
            extra=json.dumps(values["hub"]["extraConfig"]),
            secret_keys=FROM_MOUNTED_SECRET,
            hub_port=hub_port,
            api_port=api_port,
            directory=directory,
            secret=secrets.token_hex(32),
            proxy_token=proxy_token,
            standin=str(STANDIN),
            admin_token=admin_token,
        )
    )
    key, cert = _certificate(directory)
    xfcc = f'By=spiffe://cluster.local/ns/jupyterhub/sa/hub;Hash=0a1b;Subject="";URI={PROXY_URI}'
    proxy_log = directory / "proxy.log"
    # z2jh 4.4.0 templates/proxy/deployment.yaml: the chart's flags, TLS and the
    # gateway's / sidecar's headers standing in for what is in front of it.
    proxy = subprocess.Popen(
        [
            str(CHP),
            "--ip=127.0.0.1",
            f"--port={proxy_port}",
            "--api-ip=127.0.0.1",
            f"--api-port={api_port}",
            f"--default-target=http://127.0.0.1:{hub_port}",
            f"--error-target=http://127.0.0.1:{hub_port}/hub/error",
            *(["--host-routing"] if "subdomain_host" in hub_config["JupyterHub"] else []),
            f"--ssl-key={key}",
            f"--ssl-cert={cert}",
            "--custom-header",
            f"x-iap-user-email: {BOB}",
            "--custom-header",
            f"X-Forwarded-Client-Cert: {xfcc}",
        ],
        env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": proxy_token},
        stdout=proxy_log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    hub_log = directory / "hub.log"
    hub = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        cwd=directory,
        stdout=hub_log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    browser = None
    try:
        _wait(proxy, f"http://127.0.0.1:{api_port}/api/routes", proxy_log)
        _wait(hub, f"http://127.0.0.1:{hub_port}/hub/health", hub_log)
        hub_api = f"http://127.0.0.1:{hub_port}/hub/api"
        for user in (ALICE, BOB):
            _start_server(hub_api, admin_token, user)
        browser = Browser(directory, proxy_port)
        yield Deployment(
            directory=directory,
            hub_api=hub_api,
            admin_token=admin_token,
            browser=browser,
            per_user_origins=per_user_origins,
        )
    finally:
        if browser is not None:
            browser.close()
        _stop(hub)  # stops the users' servers (cleanup_servers)
        _stop(proxy)


def _attack(deployment: Deployment) -> dict[str, Any]:
    """Bob signs in, uses his server, then opens a page served by Alice's server."""
    browser = deployment.browser
    bob_server, alice_server = deployment.server_url(BOB), deployment.server_url(ALICE)
    # Sign-in (the gateway's header), then the hub sends Bob to his running
    # server, which signs him in with the hub's OAuth: his page, his secret.
    owner = browser.open(
        f"{HUB_ORIGIN}/hub/login",
        until="document.getElementById('secret').textContent",
        seconds=STARTUP_SECONDS,
    )
    assert owner == f"secret of {BOB}"
    assert browser.evaluate("location.href").startswith(bob_server)
    page = f"{alice_server}attack?" + urlencode({"hub": HUB_ORIGIN, "victim": bob_server})
    results: dict[str, Any] = browser.open(
        page, until="window.results.done && window.results", seconds=STARTUP_SECONDS
    )
    # Bob's hub session after the page tossed its cookies (a navigation: no XSRF).
    hub_user_after = browser.open(
        f"{HUB_ORIGIN}/hub/api/user", until="JSON.parse(document.body.innerText).name"
    )
    notes = deployment.directory / "notes"
    seen = (notes / f"{ALICE}.cookies").read_text().splitlines()
    written = notes / f"{BOB}.notes"
    outcome = {
        "results": results,
        "cookies_sent_to_alice": json.loads(seen[-1]),
        "notes_in_bobs_server": written.read_text().splitlines() if written.exists() else [],
        "browser_cookies": {c["name"]: c for c in browser.cookies()},
        "cookie_list": [(c["name"], c["domain"], c["value"]) for c in browser.cookies()],
        "hub_user_after": hub_user_after,
        "bob_server": bob_server,
        "alice_server": alice_server,
    }
    (deployment.directory / "attack.json").write_text(json.dumps(outcome, indent=2))
    return outcome


@pytest.fixture(scope="module")
def per_user_origins(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The platform's values: subdomain_host set."""
    directory = tmp_path_factory.mktemp("per-user-origins")
    with _deployment(synthesized, directory, per_user_origins=True) as deployment:
        yield _attack(deployment)


@pytest.fixture(scope="module")
def shared_origin(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The control: the same values without subdomain_host (the platform before)."""
    directory = tmp_path_factory.mktemp("shared-origin")
    with _deployment(synthesized, directory, per_user_origins=False) as deployment:
        yield _attack(deployment)


def test_each_user_has_a_host_of_their_own(per_user_origins: dict[str, Any]) -> None:
    attack = per_user_origins
    for user, url in ((BOB, attack["bob_server"]), (ALICE, attack["alice_server"])):
        host = url.removeprefix("https://").split("/")[0]
        # One DNS label under the hub's host (the wildcard certificate covers it).
        assert host.endswith(f".{DOMAIN}") and "." not in host.removesuffix(f".{DOMAIN}"), user
    assert attack["bob_server"] != attack["alice_server"]


def test_a_page_on_alices_host_cannot_use_bobs_hub_session(
    per_user_origins: dict[str, Any],
) -> None:
    attack = per_user_origins
    results = attack["results"]
    assert BOB not in results["hub_api"], results
    assert BOB not in results["hub_api_with_xsrf"], results
    # The hub's sign-in cookie and Bob's server cookie never reach Alice's host.
    # (JupyterHub sets its session-id cookie on the hub's domain on purpose, for
    # every server to see: an identifier that groups a sign-in's tokens, not a
    # credential; docs/security.md.)
    assert set(attack["cookies_sent_to_alice"]) <= {"jupyterhub-session-id"}, attack
    login = attack["browser_cookies"]["__Host-jupyterhub-hub-login"]
    assert (login["domain"], login["path"], login["secure"]) == (DOMAIN, "/", True)


def test_a_page_on_alices_host_cannot_replace_the_hubs_cookies(
    per_user_origins: dict[str, Any],
) -> None:
    """Cookie tossing: the browser takes a cookie for the parent domain from a
    user's host (so apps without `__Host-` cookies are exposed, docs/security.md),
    but refuses one named `__Host-...`; the hub reads only `__Host-` names, and
    Bob stays signed in as himself."""
    attack = per_user_origins
    cookies = attack["cookie_list"]
    assert ("jupyterhub-hub-login", f".{DOMAIN}", "tossed") in cookies, cookies
    logins = [c for c in cookies if c[0] == "__Host-jupyterhub-hub-login"]
    assert len(logins) == 1 and logins[0][1:] != (f".{DOMAIN}", "tossed"), cookies
    assert logins[0][1] == DOMAIN and logins[0][2] != "tossed", cookies
    assert attack["hub_user_after"] == BOB


def test_a_page_on_alices_host_cannot_act_in_bobs_server(per_user_origins: dict[str, Any]) -> None:
    attack = per_user_origins
    results = attack["results"]
    assert f"secret of {BOB}" not in str(results["victim_page"]), results
    assert results["victim_action"] != 201, results
    assert attack["notes_in_bobs_server"] == [], attack


def test_the_shared_origin_lets_the_same_page_act_as_bob(shared_origin: dict[str, Any]) -> None:
    """The control: the platform before subdomain_host. The same page, same
    browser, same hub: it reads Bob's hub identity and his server's secret and
    writes into his server. (So the checks above fail without subdomain_host.)"""
    attack = shared_origin
    results = attack["results"]
    status, _, body = results["hub_api_with_xsrf"].partition(" ")
    assert status == "200" and json.loads(body)["name"] == BOB, results
    assert results["victim_page"] == f"secret of {BOB}", results
    assert results["victim_action"] == 201, results
    assert attack["notes_in_bobs_server"], attack
    # `__Host-` cookies are on path /: on a shared host every server gets them.
    assert "__Host-jupyterhub-hub-login" in attack["cookies_sent_to_alice"], attack
