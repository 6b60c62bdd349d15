"""JupyterHub sign-in from the IAP email that the Istio gateway verified.

This file is the hub's authenticator, shipped as text: values.py
`authenticator_config` reads it, replaces the two configuration lines below
(IDENTITY_HEADER, PROXY_URI) with the platform's values, and puts the result
in the chart's hub.extraConfig; the chart's jupyterhub_config.py runs it with
exec(), in its own globals (which hold the config object `c`). The platform
never imports it (jupyterhub is not installed where `cdktf synth` runs); tests
run the rendered text inside a real JupyterHub 5.5.0.

JupyterHub 5 Authenticator API: `get_handlers` replaces /hub/login with a
handler that calls `BaseHandler.login_user()`; that runs
`Authenticator.get_authenticated_user` -> our `authenticate` (then
normalization, allow_all / admin_users checks) -> `auth_to_user` ->
`set_login_cookie`. On every later request `BaseHandler.refresh_auth` calls
our `refresh_user`, which ends the session when the verified identity of a
browser request is not the session's user.

The header is only believed on a request whose direct caller is the proxy.
X-Forwarded-Client-Cert as the hub sees it is Istio's record of the last mesh
hop: every sidecar's outbound listener drops the header (Envoy removes XFCC on
a connection without a client certificate, and the app -> own-sidecar hop has
none), and the hub's inbound sidecar appends the mTLS peer's SPIFFE URI
(APPEND_FORWARD). So a browser request (gateway -> proxy -> hub) arrives with
exactly one element, the proxy's URI, and a pod calling the hub directly
arrives with its own, whatever it sent. The mesh admits only the gateway to
the proxy's public port, and only the proxy to /hub/login: this is the second
lock on the same door.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from tornado import web
from tornado.httputil import HTTPServerRequest

# The two configuration lines: authenticator_config replaces each whole line.
# The placeholders match no real request, so an unreplaced file signs nobody in.
IDENTITY_HEADER = "x-placeholder-identity-header"
#: The hub's only browser-facing caller (XFCC as the hub's sidecar writes it).
PROXY_URI = "spiffe://placeholder.invalid/ns/placeholder/sa/placeholder"

#: This file's name when imported as a module (tests, type checks).
_MODULE = "platform_services.jupyterhub.authenticator"


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


def from_proxy(request: HTTPServerRequest) -> bool:
    """Whether the direct mesh caller is the proxy, and nothing else is recorded."""
    return _peer_uris(request.headers.get("X-Forwarded-Client-Cert", "")) == [PROXY_URI]


def verified_identity(request: HTTPServerRequest) -> str | None:
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


class IapHeaderLoginHandler(BaseHandler):  # type: ignore[misc]  # jupyterhub is untyped
    """/hub/login: sign in as the user named by the gateway's identity header."""

    async def get(self) -> None:
        if verified_identity(self.request) is None:
            raise web.HTTPError(403, "sign in through the platform's gateway")
        user = await self.login_user()
        if user is None:
            raise web.HTTPError(403, "identity not accepted")
        self.redirect(self.get_next_url(user))


class IapHeaderAuthenticator(Authenticator):  # type: ignore[misc]  # jupyterhub is untyped
    """Trusts IDENTITY_HEADER on requests from the proxy, and only those."""

    def get_handlers(self, app: Any) -> list[tuple[str, type[BaseHandler]]]:
        return [("/login", IapHeaderLoginHandler)]

    async def authenticate(self, handler: BaseHandler, data: Any = None) -> dict[str, str] | None:
        email = verified_identity(handler.request)
        if email is None:
            self.log.warning("%s ignored: not received through the gateway", IDENTITY_HEADER)
            return None
        return {"name": email}

    async def refresh_user(self, user: Any, handler: BaseHandler | None = None) -> bool:
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


def configure(c: Any) -> None:
    """Make a JupyterHub config object (`c`) use this authenticator."""
    c.JupyterHub.authenticator_class = IapHeaderAuthenticator
    # refresh_user on every request: BaseHandler.refresh_auth skips a refresh
    # only while (now - last refresh) < auth_refresh_age, never true for a
    # negative age (0 would disable refreshing). Proven inside JupyterHub 5.5.0
    # by the tests.
    c.Authenticator.auth_refresh_age = -1


if __name__ != _MODULE:
    # Run by the chart's jupyterhub_config.py (exec() in its globals): configure
    # the hub; a KeyError if its config object `c` is not there.
    configure(globals()["c"])
