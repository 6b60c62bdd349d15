"""Builders for the Istio objects of the platform (plain dicts, no cdktf).

Kept apart from the constructs so each object can be unit-tested and read on
its own; the constructs decide which to install and in which release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]

IAP_ISSUER = "https://cloud.google.com/iap"
IAP_JWKS_URI = "https://www.gstatic.com/iap/verify/public_key-jwk"
IAP_JWT_HEADER = "x-goog-iap-jwt-assertion"
#: Written by the gateway from the VERIFIED IAP token; apps may trust it.
IDENTITY_HEADER = "x-iap-user-email"
#: The IAP token claim copied into IDENTITY_HEADER (always present in IAP tokens;
#: a token without it is refused, so a client's IDENTITY_HEADER never survives).
IDENTITY_CLAIM = "email"
#: Headers some identity consumer would read if they arrived: Dex authproxy's
#: defaults (connector/authproxy/authproxy.go, Dex v2.45.1: user, user id, user
#: name, email, groups), and X-Forwarded-Client-Cert, the hop record that the
#: JupyterHub authenticator checks (sidecars after the gateway append to it).
#: The gateway removes them from every request on every route, whatever the
#: client sent.
REMOVED_IDENTITY_HEADERS = (
    "x-remote-user",
    "x-remote-user-id",
    "x-remote-user-name",
    "x-remote-user-email",
    "x-remote-group",
    "x-forwarded-client-cert",
)
#: Envoy passes header names with underscores by default (Istio does not set
#: headers_with_underscores_action), and CGI-style servers (WSGI) read
#: "x_iap_user_email" as HTTP_X_IAP_USER_EMAIL, exactly like the dashed name:
#: the gateway removes the underscore spelling of every identity header too.
REMOVED_HEADERS = (
    *REMOVED_IDENTITY_HEADERS,
    *(name.replace("-", "_") for name in (*REMOVED_IDENTITY_HEADERS, IDENTITY_HEADER)),
)

#: Google load balancer health check of the gateway (never carries a JWT). It is
#: served by the gateway's status port, which no AuthorizationPolicy covers.
HEALTH_CHECK_PATH = "/healthz/ready"
HEALTH_CHECK_PORT = 15021
#: Where Google's external Application Load Balancer and its health checks
#: connect from (GKE docs: container-native load balancing and network policy).
GOOGLE_LOAD_BALANCER_RANGES = ("130.211.0.0/22", "35.191.0.0/16")


def _meta(name: str, namespace: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict(labels)
    return meta


def gateway(
    *, name: str, namespace: str, selector: Mapping[str, str], hosts: Sequence[str]
) -> Manifest:
    """Plain HTTP on port 80: TLS ends at the Google load balancer."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": _meta(name, namespace),
        "spec": {
            "selector": dict(selector),
            "servers": [
                {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": list(hosts)}
            ],
        },
    }


def virtual_service(
    *, name: str, namespace: str, gateway_ref: str, host: str, destination: str, port: int
) -> Manifest:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": _meta(name, namespace),
        "spec": {
            "hosts": [host],
            "gateways": [gateway_ref],
            "http": [
                {
                    "name": "default",
                    # Every route, every host: no client-sent identity header of
                    # any consumer reaches an app (see REMOVED_HEADERS).
                    "headers": {"request": {"remove": list(REMOVED_HEADERS)}},
                    "route": [{"destination": {"host": destination, "port": {"number": port}}}],
                }
            ],
        },
    }


def iap_request_authentication(
    *, name: str, namespace: str, selector: Mapping[str, str]
) -> Manifest:
    """Verify the IAP JWT and copy the verified email into IDENTITY_HEADER.

    outputClaimToHeaders overwrites a client-sent IDENTITY_HEADER. The token
    itself is not forwarded (no forwardOriginalToken): Envoy removes it from
    the request after verification, so no app can replay a user's IAP token.
    Audiences are checked by `require_iap` (the backend service ids exist only
    once GKE has built the load balancer, so they are matched by prefix).
    """
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "RequestAuthentication",
        "metadata": _meta(name, namespace),
        "spec": {
            "selector": {"matchLabels": dict(selector)},
            "jwtRules": [
                {
                    "issuer": IAP_ISSUER,
                    "jwksUri": IAP_JWKS_URI,
                    "fromHeaders": [{"name": IAP_JWT_HEADER}],
                    "forwardOriginalToken": False,
                    "outputClaimToHeaders": [{"header": IDENTITY_HEADER, "claim": IDENTITY_CLAIM}],
                }
            ],
        },
    }


def _authorization_policy(
    *,
    name: str,
    namespace: str,
    selector: Mapping[str, str],
    action: str,
    rules: Sequence[Mapping[str, Any]],
) -> Manifest:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": _meta(name, namespace),
        "spec": {
            "selector": {"matchLabels": dict(selector)},
            "action": action,
            "rules": [dict(rule) for rule in rules],
        },
    }


def iap_audience_prefix(project_number: str) -> str:
    return f"/projects/{project_number}/global/backendServices/*"


def require_iap(
    *, name: str, namespace: str, selector: Mapping[str, str], project_number: str
) -> Manifest:
    """DENY anything on the gateway that is not a verified IAP request for THIS project.

    Rule 1: a connection from outside Google's load balancer ranges (the
    gateway pods' IPs are reachable inside the VPC). Rule 2: no verified IAP
    principal. Rule 3: a verified token whose audience is not one of this
    project's backend services (a token minted for another project's IAP).
    Rule 4: a token without the email claim, which would leave a client-sent
    IDENTITY_HEADER in place. No path is exempt: the load balancer's health
    check goes to the status port, which these rules do not cover.
    """
    return _authorization_policy(
        name=name,
        namespace=namespace,
        selector=selector,
        action="DENY",
        rules=[
            {"from": [{"source": {"notIpBlocks": list(GOOGLE_LOAD_BALANCER_RANGES)}}]},
            {"from": [{"source": {"notRequestPrincipals": [f"{IAP_ISSUER}/*"]}}]},
            {
                "when": [
                    {
                        "key": "request.auth.audiences",
                        "notValues": [iap_audience_prefix(project_number)],
                    }
                ]
            },
            {"when": [{"key": f"request.auth.claims[{IDENTITY_CLAIM}]", "notValues": ["*"]}]},
        ],
    )


def strict_mtls(*, namespace: str) -> Manifest:
    """Only mesh workloads (with a verifiable identity) reach this namespace."""
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": _meta("default", namespace),
        "spec": {"mtls": {"mode": "STRICT"}},
    }


def allow_nothing(*, namespace: str) -> Manifest:
    """Deny by default: an ALLOW policy without rules for every workload of the
    namespace, so only what another ALLOW policy names gets in."""
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": _meta("allow-nothing", namespace),
        "spec": {},
    }


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who may call: mesh identities (or whole namespaces), optionally limited to paths."""

    principals: Sequence[str] = ()
    namespaces: Sequence[str] = ()
    paths: Sequence[str] = ()

    def source(self) -> dict[str, Any]:
        if bool(self.principals) == bool(self.namespaces):
            raise ValueError("Caller: name principals or namespaces (exactly one)")
        if self.principals:
            return {"principals": list(self.principals)}
        return {"namespaces": list(self.namespaces)}


def allow(
    *,
    name: str,
    namespace: str,
    selector: Mapping[str, str] | None,
    ports: Sequence[int],
    callers: Sequence[Caller],
) -> Manifest:
    """ALLOW these callers, and nobody else, on these ports of a workload
    (selector None: every workload of the namespace; no ports: any port)."""
    if not callers:
        raise ValueError(f"AuthorizationPolicy {namespace}/{name}: no callers")
    rules: list[dict[str, Any]] = []
    for caller in callers:
        rule: dict[str, Any] = {"from": [{"source": caller.source()}]}
        operation: dict[str, Any] = {}
        if ports:
            operation["ports"] = [str(port) for port in ports]
        if caller.paths:
            operation["paths"] = list(caller.paths)
        if operation:
            rule["to"] = [{"operation": operation}]
        rules.append(rule)
    policy = _authorization_policy(
        name=name, namespace=namespace, selector=selector or {}, action="ALLOW", rules=rules
    )
    if selector is None:
        del policy["spec"]["selector"]
    return policy


def network_policy(
    *,
    name: str,
    namespace: str,
    selector: Mapping[str, str],
    ports: Sequence[int],
    sources: Sequence[Mapping[str, Any]],
) -> Manifest:
    """Kubernetes NetworkPolicy (Dataplane V2 enforces it): ingress to the
    selected pods only from these peers on these ports. The second layer under
    the mesh's AuthorizationPolicies, and the only one for pods without a sidecar."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, namespace),
        "spec": {
            "podSelector": {"matchLabels": dict(selector)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [dict(source) for source in sources],
                    "ports": [{"protocol": "TCP", "port": port} for port in ports],
                }
            ],
        },
    }
