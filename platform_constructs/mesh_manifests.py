"""Builders for the Istio objects of the platform (plain dicts, no cdktf).

Kept apart from the constructs so each object can be unit-tested and read on
its own; the constructs decide which to install and in which release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Manifest = dict[str, Any]

IAP_ISSUER = "https://cloud.google.com/iap"
IAP_JWKS_URI = "https://www.gstatic.com/iap/verify/public_key-jwk"
IAP_JWT_HEADER = "x-goog-iap-jwt-assertion"
#: Written by the gateway from the VERIFIED IAP token; apps may trust it.
IDENTITY_HEADER = "x-iap-user-email"
#: Google load balancer health check of the gateway (never carries a JWT).
HEALTH_CHECK_PATH = "/healthz/ready"
HEALTH_CHECK_PORT = 15021


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
                    "route": [{"destination": {"host": destination, "port": {"number": port}}}],
                }
            ],
        },
    }


def iap_request_authentication(
    *, name: str, namespace: str, selector: Mapping[str, str]
) -> Manifest:
    """Verify the IAP JWT and copy the verified email into IDENTITY_HEADER.

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
                    "forwardOriginalToken": True,
                    "outputClaimToHeaders": [{"header": IDENTITY_HEADER, "claim": "email"}],
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
    """DENY anything without a valid IAP token for THIS project's backends.

    Rule 1: no verified IAP principal. Rule 2: a verified token whose audience
    is not one of this project's backend services (a token minted for another
    project's IAP). The health check path is exempt from both.
    """
    not_health = {"operation": {"notPaths": [HEALTH_CHECK_PATH]}}
    return _authorization_policy(
        name=name,
        namespace=namespace,
        selector=selector,
        action="DENY",
        rules=[
            {
                "from": [{"source": {"notRequestPrincipals": [f"{IAP_ISSUER}/*"]}}],
                "to": [not_health],
            },
            {
                "to": [not_health],
                "when": [
                    {
                        "key": "request.auth.audiences",
                        "notValues": [iap_audience_prefix(project_number)],
                    }
                ],
            },
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


def allow_only_from(
    *,
    name: str,
    namespace: str,
    selector: Mapping[str, str],
    principals: Sequence[str],
    ports: Sequence[int] | None = None,
    extra_rules: Sequence[Mapping[str, Any]] = (),
) -> Manifest:
    """ALLOW only these mesh identities (e.g. the gateway) to reach a workload
    that trusts IDENTITY_HEADER: nothing else can forge the header."""
    rule: dict[str, Any] = {"from": [{"source": {"principals": list(principals)}}]}
    if ports:
        rule["to"] = [{"operation": {"ports": [str(p) for p in ports]}}]
    return _authorization_policy(
        name=name,
        namespace=namespace,
        selector=selector,
        action="ALLOW",
        rules=[rule, *extra_rules],
    )


def deny_principal_except_paths(
    *,
    name: str,
    namespace: str,
    selector: Mapping[str, str],
    principal: str,
    allowed_paths: Sequence[str],
) -> Manifest:
    """DENY one mesh identity everything on a workload but a few paths."""
    return _authorization_policy(
        name=name,
        namespace=namespace,
        selector=selector,
        action="DENY",
        rules=[
            {
                "from": [{"source": {"principals": [principal]}}],
                "to": [{"operation": {"notPaths": list(allowed_paths)}}],
            }
        ],
    )


def service_account_principal(namespace: str, service_account: str) -> str:
    return f"cluster.local/ns/{namespace}/sa/{service_account}"
