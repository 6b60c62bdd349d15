"""MLflow's authorization function: the platform's identity, and nothing else.

This file is MLflow's `authorization_function` (the basic-auth app's hook:
mlflow.server.auth `authenticate_request`), shipped as text: values.py
`auth_module_source` reads it, replaces the configuration lines below with
the platform's values, and the chart mounts the result as the module
platform_mlflow_auth on MLflow's PYTHONPATH (values.py AUTH_MODULE). The
platform never imports it (mlflow is not installed where `cdktf synth` runs);
tests run the rendered text inside a real MLflow 3.15.1 server. At run time
it imports only the standard library and MLflow's own server stack (mlflow,
flask, werkzeug).

MLflow 3.15.1 calls `authenticate()` for every protected request: Flask's
`_before_request` (every REST, ajax-api and UI route) and the FastAPI
middleware's bridge (`_authenticate_custom_for_fastapi`: /gateway/, native
artifact routes), which then looks the user up in MLflow's auth store, so a
user must exist there: `authenticate()` creates users on first use. The
returned Authorization's username is the identity MLflow's permission checks
(and `sender_is_admin`) use.

Who is believed:
- A browser, through the gateway: the gateway verified the IAP JWT and wrote
  the email into IDENTITY_HEADER, overwriting whatever the client sent. The
  header is believed only when the direct mesh caller is the gateway:
  X-Forwarded-Client-Cert as MLflow sees it is Istio's record of the last
  hop (MLflow's inbound sidecar appends the mTLS peer's SPIFFE URI; every
  outbound sidecar drops a client-sent one), so it must be exactly
  [GATEWAY_URI]. Writes (any method but GET, HEAD, OPTIONS) need an Origin of
  MLflow's own https host: the IAP cookie rides along on cross-site and
  same-site requests alike, so without it any page could make a signed-in
  user's browser write (CSRF).
- A notebook (any other mesh caller): the user's JupyterHub API token
  (Authorization: Bearer or token), which the hub's /hub/api/user must say
  belongs to a user (not a service) and carries the scope
  access:services!service=HUB_SERVICE; the identity is that user's name.
  An identity header from such a caller is refused outright.
- Nothing else: no basic-auth password is ever checked, so the chart's admin
  user (a random name and password generated in the cluster) signs in by no
  path.

MLflow admins are ADMINS: a user's admin flag is set (or cleared) to match on
every request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from flask import Response, make_response, request
from werkzeug.datastructures import Authorization

# The configuration lines: values.py replaces each whole line. The placeholders
# match no real request, so an unreplaced file lets nobody in.
IDENTITY_HEADER = "x-placeholder-identity-header"
#: The gateway's SPIFFE URI (XFCC as MLflow's sidecar writes it).
GATEWAY_URI = "spiffe://placeholder.invalid/ns/placeholder/sa/placeholder"
#: MLflow's own browser origin: https://<its public host>.
PUBLIC_ORIGIN = "https://placeholder.invalid"
#: The hub's REST API, in the cluster (no trailing slash); empty: no hub, no tokens.
HUB_API_URL = "http://placeholder.invalid/hub/api"
#: MLflow's name as a JupyterHub service (the scope names it).
HUB_SERVICE = "placeholder-service"
#: Emails of MLflow admins.
ADMINS: tuple[str, ...] = ()
#: How long a token's verdict from the hub is reused (a revoked token keeps
#: working this long at most).
TOKEN_CACHE_SECONDS = 60

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CACHE_MAX = 10000
_cache: dict[str, tuple[float, str | None]] = {}
_cache_lock = threading.Lock()


def _peer_uris(xfcc: str) -> list[str | None]:
    """URI= of each X-Forwarded-Client-Cert element, oldest hop first.

    Elements are comma-separated, fields semicolon-separated; a quoted value
    may itself contain , or ; (Envoy quotes Subject), so split outside quotes.
    """
    elements: list[list[str]] = []
    fields: list[str] = []
    current, quoted = "", False
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
    uris: list[str | None] = []
    for element in elements:
        found = [
            value.strip().strip('"')
            for key, _, value in (field.strip().partition("=") for field in element)
            if key.lower() == "uri"
        ]
        uris.append(found[0] if len(found) == 1 else None)
    return uris


def _email(value: str) -> str | None:
    """A lowercased email address (IAP's "accounts.google.com:" prefix dropped), or None."""
    email = value.strip().rpartition(":")[2].lower()
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or any(ch.isspace() for ch in email):
        return None
    return email


def _refuse(status: int, reason: str) -> Response:
    """A refusal without WWW-Authenticate: no browser password prompt, ever."""
    response: Response = make_response(reason + "\n", status)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def _hub_user(token: str) -> str | None:
    """The JupyterHub user owning `token` if it carries MLflow's scope, else None."""
    key = hashlib.sha256(token.encode()).hexdigest()
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    lookup = urllib.request.Request(
        HUB_API_URL + "/user", headers={"Authorization": "token " + token}
    )
    try:
        with urllib.request.urlopen(lookup, timeout=10) as answer:
            model: Any = json.load(answer)
    except urllib.error.HTTPError as error:
        if error.code not in (401, 403, 404):
            raise
        model = None
    name = model.get("name") if isinstance(model, dict) else None
    scopes = model.get("scopes") if isinstance(model, dict) else None
    user = (
        _email(name)
        if isinstance(model, dict)
        and model.get("kind") == "user"
        and isinstance(name, str)
        and isinstance(scopes, list)
        and f"access:services!service={HUB_SERVICE}" in scopes
        else None
    )
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = (now + TOKEN_CACHE_SECONDS, user)
    return user


def _as_user(name: str) -> Authorization:
    """`name` as MLflow's authenticated user: created on first use, admin iff in ADMINS."""
    from mlflow.exceptions import MlflowException
    from mlflow.server.auth import store

    admin = name in ADMINS
    if not store.has_user(name):
        try:
            # A random password nobody knows: no path here checks passwords.
            store.create_user(name, secrets.token_urlsafe(32), is_admin=admin)
        except MlflowException:
            if not store.has_user(name):  # not a concurrent first request
                raise
    if store.get_user(name).is_admin != admin:
        store.update_user(name, is_admin=admin)
    return Authorization("basic", {"username": name})


def _from_browser() -> Authorization | Response:
    values = request.headers.getlist(IDENTITY_HEADER)
    email = _email(values[0]) if len(values) == 1 else None
    if email is None:
        return _refuse(401, "sign in through the platform's gateway")
    if request.method not in SAFE_METHODS and request.headers.get("Origin") != PUBLIC_ORIGIN:
        return _refuse(403, "cross-origin write refused")
    return _as_user(email)


def _from_notebook() -> Authorization | Response:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() not in ("bearer", "token") or not token or not HUB_API_URL:
        return _refuse(401, "a JupyterHub token for MLflow is required")
    try:
        name = _hub_user(token)
    except (OSError, ValueError):
        return _refuse(503, "JupyterHub could not check the token")
    if name is None:
        return _refuse(403, "the token is not a user's token for MLflow")
    return _as_user(name)


def authenticate() -> Authorization | Response:
    """MLflow's authorization_function: who sends this request, or a refusal."""
    if _peer_uris(request.headers.get("X-Forwarded-Client-Cert", "")) == [GATEWAY_URI]:
        return _from_browser()
    if request.headers.get(IDENTITY_HEADER) is not None:
        return _refuse(403, f"{IDENTITY_HEADER} is only accepted from the gateway")
    return _from_notebook()
