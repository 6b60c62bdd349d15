"""A small evaluator of Istio AuthorizationPolicies, for the reachability tests.

Semantics from the AuthorizationPolicy reference (security.istio.io/v1):
- A policy applies to a workload in its namespace whose labels include the
  selector's matchLabels (no selector: every workload of the namespace).
- DENY first: any matching DENY policy denies. Then, if no ALLOW policy
  applies to the workload, the request is allowed; otherwise it is allowed
  only if some ALLOW policy matches.
- A policy matches if any of its rules matches; no rules matches nothing
  (so `spec: {}` is "allow nothing"). A rule matches if one of its `from`
  sources, one of its `to` operations and all of its `when` conditions match;
  an absent part matches anything. Within a source or operation every
  present field must match.
- Strings: exact, prefix ("abc*"), suffix ("*abc") or presence ("*").
  A not* field matches when no listed value matches (a missing attribute
  matches no value, so `notValues: ["*"]` matches a missing claim).
CUSTOM policies are not used by the platform; meeting one fails the test.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Request:
    principal: str | None = None
    """The caller's mesh identity (mTLS), e.g. cluster.local/ns/x/sa/y."""
    source_ip: str = "10.16.0.10"
    port: int = 80
    path: str = "/"
    method: str = "GET"
    request_principal: str | None = None
    """<iss>/<sub> of a verified JWT."""
    claims: Mapping[str, str] = field(default_factory=dict)
    audiences: Sequence[str] = ()

    @property
    def namespace(self) -> str | None:
        if self.principal is None:
            return None
        parts = self.principal.split("/")
        return parts[2] if len(parts) >= 5 and parts[1] == "ns" else None


@dataclass(frozen=True, kw_only=True)
class Workload:
    namespace: str
    labels: Mapping[str, str]


def _string_match(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if pattern == "*":
        return value != ""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return pattern == value


def _any(patterns: Iterable[str], value: str | None) -> bool:
    return any(_string_match(p, value) for p in patterns)


def _ip_in(blocks: Iterable[str], ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(block, strict=False) for block in blocks)


def _check(spec: Mapping[str, Any], key: str, match: Any) -> bool:
    """Field `key` (if present) must match; `not<Key>` (if present) must not."""
    positive = spec.get(key)
    negative = spec.get("not" + key[0].upper() + key[1:])
    if positive is not None and not match(positive):
        return False
    return not (negative is not None and match(negative))


_SOURCE_KEYS = {"principals", "namespaces", "requestPrincipals", "ipBlocks", "remoteIpBlocks"}
_OPERATION_KEYS = {"ports", "paths", "methods", "hosts"}


def _source_matches(source: Mapping[str, Any], request: Request) -> bool:
    unknown = {k.removeprefix("not").lower() for k in source} - {k.lower() for k in _SOURCE_KEYS}
    assert not unknown, f"evaluator does not know source fields {unknown}"
    assert "remoteIpBlocks" not in source and "notRemoteIpBlocks" not in source
    return (
        _check(source, "principals", lambda ps: _any(ps, request.principal))
        and _check(source, "namespaces", lambda ns: _any(ns, request.namespace))
        and _check(source, "requestPrincipals", lambda ps: _any(ps, request.request_principal))
        and _check(source, "ipBlocks", lambda blocks: _ip_in(blocks, request.source_ip))
    )


def _operation_matches(operation: Mapping[str, Any], request: Request) -> bool:
    unknown = {k.removeprefix("not").lower() for k in operation} - {
        k.lower() for k in _OPERATION_KEYS
    }
    assert not unknown, f"evaluator does not know operation fields {unknown}"
    assert "hosts" not in operation and "notHosts" not in operation
    return (
        _check(operation, "ports", lambda ports: str(request.port) in [str(p) for p in ports])
        and _check(operation, "paths", lambda paths: _any(paths, request.path))
        and _check(operation, "methods", lambda methods: _any(methods, request.method))
    )


def _attribute(key: str, request: Request) -> list[str]:
    if key == "request.auth.audiences":
        return list(request.audiences)
    if key.startswith("request.auth.claims[") and key.endswith("]"):
        claim = request.claims.get(key[len("request.auth.claims[") : -1])
        return [] if claim is None else [claim]
    raise AssertionError(f"evaluator does not know condition key {key}")


def _condition_matches(condition: Mapping[str, Any], request: Request) -> bool:
    values = _attribute(condition["key"], request)
    if "values" in condition and not any(_any(condition["values"], v) for v in values):
        return False
    return not ("notValues" in condition and any(_any(condition["notValues"], v) for v in values))


def _rule_matches(rule: Mapping[str, Any], request: Request) -> bool:
    sources = [entry["source"] for entry in rule.get("from", [])]
    operations = [entry["operation"] for entry in rule.get("to", [])]
    return (
        (not sources or any(_source_matches(s, request) for s in sources))
        and (not operations or any(_operation_matches(o, request) for o in operations))
        and all(_condition_matches(c, request) for c in rule.get("when", []))
    )


def _applies(policy: Mapping[str, Any], workload: Workload) -> bool:
    if policy["metadata"]["namespace"] != workload.namespace:
        return False
    selector = (policy.get("spec") or {}).get("selector", {}).get("matchLabels", {})
    return all(workload.labels.get(k) == v for k, v in selector.items())


def allowed(policies: Sequence[Mapping[str, Any]], workload: Workload, request: Request) -> bool:
    """Whether Istio lets `request` reach `workload` under these policies."""
    applicable = [
        p for p in policies if p["kind"] == "AuthorizationPolicy" and _applies(p, workload)
    ]
    by_action: dict[str, list[Mapping[str, Any]]] = {"ALLOW": [], "DENY": []}
    for policy in applicable:
        action = (policy.get("spec") or {}).get("action", "ALLOW")
        assert action in by_action, f"evaluator does not handle action {action}"
        by_action[action].append(policy)

    def matches(policy: Mapping[str, Any]) -> bool:
        rules = (policy.get("spec") or {}).get("rules") or []
        return any(_rule_matches(rule, request) for rule in rules)

    if any(matches(p) for p in by_action["DENY"]):
        return False
    if not by_action["ALLOW"]:
        return True
    return any(matches(p) for p in by_action["ALLOW"])
