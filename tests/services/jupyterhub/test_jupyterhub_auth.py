"""The platform's JupyterHub sign-in, inside a real JupyterHub.

A JupyterHub 5.5.0 (the version zero-to-jupyterhub 4.4.0's hub image ships)
runs on loopback with the hub.config and hub.extraConfig that the bootstrap
stack synthesized, applied the way the chart's jupyterhub_config.py applies
them (config sections, then the extraConfig snippets). Only the proxy is
replaced (configurable-http-proxy is a Node program the tests do not need);
requests go to the hub as the proxy would forward them, with the
X-Forwarded-Client-Cert chain Istio's sidecars build.
"""

from __future__ import annotations

import ast
import binascii
import http.cookiejar
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.cookies

from platform_services.istio import workloads as istio_pods
from platform_services.jupyterhub import values as jupyterhub_values_module
from platform_services.jupyterhub import workloads as jupyterhub_pods
from platform_services.jupyterhub.values import (
    AUTHENTICATOR_CONFIG_KEY,
    AUTHENTICATOR_SOURCE,
    HUB_SECRET_NAME,
    authenticator_config,
)
from tests.support.stacks import generated, releases, values_of
from tests.support.synth import Synthesized
from tests.support.variants import ROOT

GATEWAY_URI = "spiffe://" + istio_pods.GATEWAY.principal
PROXY_URI = "spiffe://" + jupyterhub_pods.jupyterhub_workloads("jupyterhub")["proxy"].principal
HUB_URI = "spiffe://" + jupyterhub_pods.jupyterhub_workloads("jupyterhub")["hub"].principal
USER_POD_URI = "spiffe://" + jupyterhub_pods.jupyterhub_workloads("jupyterhub")["user"].principal
#: The namespace's `default` service account: user-placeholder pods and any pod
#: created there without a service account run as it.
DEFAULT_ACCOUNT_URI = "spiffe://cluster.local/ns/jupyterhub/sa/default"
STARTUP_SECONDS = 60
XFCC = "X-Forwarded-Client-Cert"

#: Test-only pieces around the synthesized config: a no-op proxy and loopback.
HARNESS = '''
import json
from jupyterhub.proxy import Proxy


class LoopbackTestProxy(Proxy):
    """Stands in for configurable-http-proxy: the tests talk to the hub directly."""

    should_start = False

    async def add_route(self, routespec, target, data):
        pass

    async def delete_route(self, routespec):
        pass

    async def get_all_routes(self):
        return {{}}


c.JupyterHub.proxy_class = LoopbackTestProxy
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.db_url = "sqlite:///{directory}/jupyterhub.sqlite"
# The hub's secrets as the ESO generator makes them (tests below).
c.JupyterHub.cookie_secret = {cookie_secret!r}
c.CryptKeeper.keys = [{cookie_secret!r}]
c.JupyterHub.pid_file = "{directory}/jupyterhub.pid"
c.ConfigurableHTTPProxy.auth_token = "unused"

# hub.config, as the chart applies it (KubeSpawner is not installed here).
# Like z2jh's files/hub/jupyterhub_config.py, skip the secrets it loads from
# the mounted Secrets instead (hub.existingSecret first).
SECRETS_FROM_MOUNTED_SECRET = {{
    ("JupyterHub", "cookie_secret"),
    ("JupyterHub", "proxy_auth_token"),
    ("JupyterHub", "services"),
    ("ConfigurableHTTPProxy", "auth_token"),
    ("CryptKeeper", "keys"),
}}
for section, settings in json.loads({config!r}).items():
    if section != "KubeSpawner":
        for key, value in settings.items():
            if (section, key) not in SECRETS_FROM_MOUNTED_SECRET:
                setattr(getattr(c, section), key, value)

# hub.extraConfig, as the chart runs it: exec() of each snippet, by key.
for key, snippet in sorted(json.loads({extra!r}).items()):
    exec(snippet)

# JupyterHub's own verdict on candidate secret values (the validators of
# JupyterHub.cookie_secret and CryptKeeper.keys), from this process, which
# has JupyterHub imported anyway: the decoded length, or the error.
from jupyterhub.app import JupyterHub as _Hub
from jupyterhub.crypto import _validate_key


def _verdict(check, value):
    try:
        return len(check(value))
    except ValueError as error:
        return "ValueError: " + str(error)


with open("{directory}/secret_verdicts.json", "w") as _out:
    json.dump(
        {{
            value: {{
                "cookie_secret": _verdict(lambda v: _Hub(cookie_secret=v).cookie_secret, value),
                "crypt_key": _verdict(_validate_key, value),
            }}
            for value in json.loads({candidates!r})
        }},
        _out,
    )
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _hub_values(synthesized: Synthesized) -> Any:
    apps = values_of(releases(synthesized.stack("example", "bootstrap"))["app-jupyterhub"])
    return apps["applications"]["jupyterhub"]["source"]["helm"]["valuesObject"]


def _generated_hub_secret(synthesized: Synthesized) -> str:
    """A value in the format the ESO Password generator makes the hub's secrets.

    It hex-encodes the password it generates (generators/v1/password/
    password.go, encodePassword): `length` characters arrive as 2*length hex digits.
    """
    stack = synthesized.stack("example", "bootstrap")
    spec = generated(stack, HUB_SECRET_NAME)[1]["spec"]
    assert spec["encoding"] == "hex"
    return binascii.hexlify(b"A" * spec["length"]).decode()


@pytest.fixture(scope="module")
def hub_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jupyterhub")


@pytest.fixture(scope="module")
def hub(synthesized: Synthesized, hub_directory: Path) -> Iterator[str]:
    values = _hub_values(synthesized)
    assert AUTHENTICATOR_CONFIG_KEY in values["hub"]["extraConfig"]
    directory = hub_directory
    port = _free_port()
    config = directory / "jupyterhub_config.py"
    hub_config = values["hub"]["config"]
    config.write_text(
        HARNESS.format(
            port=port,
            directory=directory,
            config=json.dumps(hub_config),
            extra=json.dumps(values["hub"]["extraConfig"]),
            cookie_secret=_generated_hub_secret(synthesized),
            candidates=json.dumps(
                [
                    _generated_hub_secret(synthesized),
                    hub_config["JupyterHub"]["cookie_secret"],
                    *hub_config["CryptKeeper"]["keys"],
                ]
            ),
        )
    )
    log = (directory / "hub.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            try:
                if requests.get(f"{url}/hub/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, _log(directory)
            assert time.monotonic() < deadline, "JupyterHub did not start\n" + _log(directory)
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _log(directory: Path) -> str:
    return (directory / "hub.log").read_text(errors="replace")[-4000:]


def _xfcc(*uris: str) -> str:
    """X-Forwarded-Client-Cert as sidecars append it: one element per hop."""
    return ",".join(f'By={HUB_URI};Hash=0a1b;Subject="";URI={uri}' for uri in uris)


def _gateway_headers(email: str) -> dict[str, str]:
    """A browser request as the hub receives it: the gateway's identity header,
    and the one XFCC element the hub's inbound sidecar writes for its mTLS peer,
    the proxy (every outbound sidecar drops XFCC: Envoy removes it on a
    connection without a client certificate, and app -> sidecar has none)."""
    return {"x-iap-user-email": email, "X-Forwarded-Client-Cert": _xfcc(PROXY_URI)}


class _SecureCookiesOverLoopback(requests.cookies.RequestsCookieJar):
    """Browsers reach the hub over HTTPS (TLS ends at the load balancer), and
    its cookies are Secure `__Host-` cookies (cookie_host_prefix_enabled);
    these tests talk plain HTTP on loopback, so the jar sends them anyway."""

    def set_cookie(self, cookie: http.cookiejar.Cookie, *args: Any, **kwargs: Any) -> None:
        cookie.secure = False
        super().set_cookie(cookie, *args, **kwargs)


#: The hub's sign-in cookie (`__Host-`: cookie_host_prefix_enabled in the values).
LOGIN_COOKIE = "__Host-jupyterhub-hub-login"


def _sign_in(url: str, headers: dict[str, str]) -> requests.Session:
    session = requests.Session()
    session.cookies = _SecureCookiesOverLoopback()
    response = session.get(f"{url}/hub/login", headers=headers, allow_redirects=False)
    session.last_status = response.status_code  # type: ignore[attr-defined]
    return session


def _signed_in_as(session: requests.Session, url: str, headers: dict[str, str]) -> str | None:
    """Whom the hub serves this request as (None: it asks to sign in again)."""
    response = session.get(f"{url}/hub/api/user", headers=headers, allow_redirects=False)
    if response.status_code != 200:
        return None
    name: str = response.json()["name"]
    return name


def test_the_gateways_headers_sign_the_user_in(hub: str) -> None:
    headers = _gateway_headers("Alice@Example.com")
    session = _sign_in(hub, headers)
    assert session.last_status == 302  # type: ignore[attr-defined]
    assert LOGIN_COOKIE in session.cookies
    assert _signed_in_as(session, hub, headers) == "alice@example.com"


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("identity header from a pod, no chain", {"x-iap-user-email": "alice@example.com"}),
        (
            "a pod calling the hub directly",
            {
                "x-iap-user-email": "alice@example.com",
                "X-Forwarded-Client-Cert": _xfcc(USER_POD_URI),
            },
        ),
        (
            "a pod forging the proxy's element (its sidecar appends its own)",
            {
                "x-iap-user-email": "alice@example.com",
                "X-Forwarded-Client-Cert": _xfcc(PROXY_URI, USER_POD_URI),
            },
        ),
        (
            "the gateway's identity, not the proxy's",
            {
                "x-iap-user-email": "alice@example.com",
                "X-Forwarded-Client-Cert": _xfcc(GATEWAY_URI),
            },
        ),
        (
            "an extra element before the proxy's",
            {
                "x-iap-user-email": "alice@example.com",
                "X-Forwarded-Client-Cert": _xfcc(GATEWAY_URI, PROXY_URI),
            },
        ),
        (
            "two URIs hidden in one element",
            {
                "x-iap-user-email": "alice@example.com",
                "X-Forwarded-Client-Cert": f"URI={PROXY_URI};URI={USER_POD_URI}",
            },
        ),
        (
            "a quoted comma that is not an element separator",
            {
                "x-iap-user-email": "alice@example.com",
                "X-Forwarded-Client-Cert": f'Subject="{USER_POD_URI},x";URI={PROXY_URI},URI=x',
            },
        ),
        (
            "a pod running as the namespace's default service account",
            {
                "x-iap-user-email": "alice@example.com",
                "X-Forwarded-Client-Cert": _xfcc(DEFAULT_ACCOUNT_URI),
            },
        ),
        ("from the proxy, no identity", {"X-Forwarded-Client-Cert": _xfcc(PROXY_URI)}),
        ("from the proxy, not an email", _gateway_headers("alice")),
    ],
)
def test_forged_identities_do_not_sign_in(hub: str, case: str, headers: dict[str, str]) -> None:
    session = _sign_in(hub, headers)
    assert session.last_status == 403, case  # type: ignore[attr-defined]
    assert LOGIN_COOKIE not in session.cookies, case
    assert _signed_in_as(session, hub, headers) is None, case


def test_a_different_identity_is_not_served_as_the_sessions_user(hub: str) -> None:
    alice = _gateway_headers("alice@example.com")
    session = _sign_in(hub, alice)
    assert _signed_in_as(session, hub, alice) == "alice@example.com"
    # Same browser cookies, but IAP now vouches for Bob (the browser switched
    # Google accounts): never served as Alice, on any later request either.
    bob = _gateway_headers("bob@example.com")
    assert _signed_in_as(session, hub, bob) is None
    assert _signed_in_as(session, hub, bob) is None
    # Immediately back to Alice's identity within the same second: still Alice.
    again = _sign_in(hub, alice)
    assert _signed_in_as(again, hub, alice) == "alice@example.com"
    assert _signed_in_as(again, hub, bob) is None
    # Bob signing in gets Bob's own session.
    bobs = _sign_in(hub, bob)
    assert _signed_in_as(bobs, hub, bob) == "bob@example.com"


def test_configured_admins_are_admins(hub: str, synthesized: Synthesized) -> None:
    admins = _hub_values(synthesized)["hub"]["config"]["Authenticator"]["admin_users"]
    assert admins == ["admin@example.com"]
    admin = _gateway_headers("admin@example.com")
    session = _sign_in(hub, admin)
    user = session.get(f"{hub}/hub/api/user", headers=admin).json()
    assert user["admin"] is True
    other = _gateway_headers("carol@example.com")
    session = _sign_in(hub, other)
    assert session.get(f"{hub}/hub/api/user", headers=other).json()["admin"] is False


def test_generated_hub_secrets_suit_jupyterhub_and_placeholders_do_not(
    hub: str, hub_directory: Path, synthesized: Synthesized
) -> None:
    """This hub runs with the generator's format (it started); JupyterHub 5.5's
    own validators accept it as 32 bytes and refuse the values' placeholders,
    so a hub that fell back to the chart's own Secret would not start."""
    verdicts = json.loads((hub_directory / "secret_verdicts.json").read_text())
    generated_value = _generated_hub_secret(synthesized)
    assert verdicts.pop(generated_value) == {"cookie_secret": 32, "crypt_key": 32}
    config = _hub_values(synthesized)["hub"]["config"]
    assert set(verdicts) == {config["JupyterHub"]["cookie_secret"], *config["CryptKeeper"]["keys"]}
    for value, verdict in verdicts.items():
        assert str(verdict["cookie_secret"]).startswith("ValueError"), value
        assert str(verdict["crypt_key"]).startswith("ValueError"), value


# --- the authenticator as a file ----------------------------------------------------


def test_the_snippet_is_the_authenticator_file_with_its_two_lines_replaced() -> None:
    """What the hub runs is authenticator.py as checked in (ruff, mypy), but for
    IDENTITY_HEADER and PROXY_URI, which hold the platform's values."""
    snippet = authenticator_config(
        identity_header="x-iap-user-email", proxy_principal="cluster.local/ns/hub/sa/proxy"
    )
    source = AUTHENTICATOR_SOURCE.read_text().splitlines()
    rendered = snippet.splitlines()
    assert len(rendered) == len(source)
    changed = {i: line for i, line in enumerate(rendered) if line != source[i]}
    assert sorted(changed.values()) == [
        "IDENTITY_HEADER = 'x-iap-user-email'",
        "PROXY_URI = 'spiffe://cluster.local/ns/hub/sa/proxy'",
    ]
    assert snippet.endswith("\n") and AUTHENTICATOR_SOURCE.read_text().endswith("\n")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("\nPROXY_URI = ", "\nPROXY_URI: str = "), "PROXY_URI .* found 0"),
        (lambda s: s + "IDENTITY_HEADER = 'x-other'\n", "IDENTITY_HEADER .* found 2"),
    ],
    ids=["line-missing", "line-twice"],
)
def test_a_configuration_line_missing_or_repeated_fails_loudly(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit: Callable[[str], str],
    message: str,
) -> None:
    source = tmp_path / "authenticator.py"
    source.write_text(edit(AUTHENTICATOR_SOURCE.read_text()))
    monkeypatch.setattr(jupyterhub_values_module, "AUTHENTICATOR_SOURCE", source)
    with pytest.raises(ValueError, match=message):
        authenticator_config(
            identity_header="x-iap-user-email", proxy_principal="cluster.local/ns/hub/sa/proxy"
        )


def test_importing_it_needs_no_hub_config_and_configure_sets_the_authenticator() -> None:
    from traitlets.config import Config

    # Run as hub.extraConfig it configures the global `c`; imported, it only defines.
    from platform_services.jupyterhub import authenticator

    config = Config()
    authenticator.configure(config)
    assert config.JupyterHub.authenticator_class is authenticator.IapHeaderAuthenticator
    assert config.Authenticator.auth_refresh_age == -1


def _imported_modules(source: Path) -> set[str]:
    """Every module an import statement of the file names (and each `from` target)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def test_the_platform_never_imports_the_authenticator() -> None:
    """It imports jupyterhub, a dev-only dependency: the platform reads it as text."""
    module = "platform_services.jupyterhub.authenticator"
    sources = [ROOT / "main.py"] + [
        source
        for package in (
            "platform_config",
            "platform_builders",
            "platform_constructs",
            "platform_services",
            "stacks",
        )
        for source in sorted((ROOT / package).rglob("*.py"))
    ]
    importers = [str(s.relative_to(ROOT)) for s in sources if module in _imported_modules(s)]
    assert importers == []
    # And rendering the values really loads neither it nor jupyterhub.
    code = (
        "import sys\n"
        "from platform_services.jupyterhub.values import authenticator_config\n"
        "authenticator_config(identity_header='x-a', proxy_principal='cluster.local/ns/a/sa/b')\n"
        f"print(sorted(m for m in sys.modules if m == 'jupyterhub' or m == {module!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
