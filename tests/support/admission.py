"""A model of Kubernetes ValidatingAdmissionPolicy admission, with the policies'
CEL run in a real CEL engine (cel-python, module `celpy`).

Modelled (Kubernetes 1.31+, admissionregistration.k8s.io/v1): a policy applies
when a binding names it (policyName) and the request matches the policy's
matchConstraints (resourceRules: operations, apiGroups, apiVersions, resources,
'*' wildcards; namespaceSelector: matchLabels and matchExpressions In / NotIn /
Exists / DoesNotExist, on the labels of the object's namespace, or, for a
Namespace CREATE/UPDATE, of the NEW object: k8s.io/apiserver
pkg/admission/plugin/webhook/predicates/namespace/matcher.go GetNamespaceLabels)
and the binding's matchResources alike; then every matchCondition must be true;
then each validation is evaluated and a false one (or an error, with
failurePolicy Fail) denies when the binding's validationActions hold Deny.
CEL variables: object, oldObject (null on CREATE), request.operation,
request.userInfo.username, request.namespace.

Not modelled: excludeResourceRules, objectSelector, paramKind/params,
variables, messageExpression, auditAnnotations, matchPolicy Equivalent
(other API versions), CEL cost limits, and Kubernetes' type-checking of
expressions against OpenAPI schemas. Kubernetes' own CEL libraries (lists,
regex, url, quantity, authz, ...) are not in the engine: the platform's
policies use standard CEL only, which tests/services/argocd/
test_team_admission.py checks by compiling them here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Request:
    operation: str
    """CREATE, UPDATE, DELETE."""
    group: str
    version: str
    resource: str
    """Plural, lower case: services, endpoints, namespaces..."""
    username: str
    object: Json | None
    old_object: Json | None = None
    namespace: str = ""
    namespace_labels: dict[str, str] = field(default_factory=dict)
    """Labels of the object's namespace (ignored for Namespace CREATE/UPDATE)."""


def _selected(selector: Json | None, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = (
            expression["key"],
            expression["operator"],
            expression.get("values", []),
        )
        present = key in labels
        ok = {
            "Exists": present,
            "DoesNotExist": not present,
            "In": present and labels[key] in values,
            "NotIn": not present or labels[key] not in values,
        }[operator]
        if not ok:
            return False
    return True


def _in_rules(rules: list[Json], request: Request) -> bool:
    def has(values: list[str], value: str) -> bool:
        return "*" in values or value in values

    return any(
        has(rule["operations"], request.operation)
        and has(rule["apiGroups"], request.group)
        and has(rule["apiVersions"], request.version)
        and has(rule["resources"], request.resource)
        for rule in rules
    )


def _matches(constraints: Json | None, request: Request) -> bool:
    if constraints is None:
        return True
    labels = request.namespace_labels
    if request.resource == "namespaces" and request.operation in {"CREATE", "UPDATE"}:
        labels = (request.object or {}).get("metadata", {}).get("labels", {})
    if request.resource != "namespaces" and not request.namespace:
        labels = {}  # cluster-scoped: a namespaceSelector does not apply
    elif not _selected(constraints.get("namespaceSelector"), labels):
        return False
    return _in_rules(constraints.get("resourceRules", []), request)


def compile_cel(expression: str) -> Any:
    """A cel-python program (imported here: the tests that need it skip without it)."""
    import celpy

    env = celpy.Environment()
    return env.program(env.compile(expression))


def _evaluate(expression: str, request: Request) -> bool | str:
    """True/False, or the error's text."""
    from celpy.adapter import json_to_cel
    from celpy.celtypes import BoolType
    from celpy.evaluation import CELEvalError

    activation = {
        "object": json_to_cel(request.object),
        "oldObject": json_to_cel(request.old_object),
        "request": json_to_cel(
            {
                "operation": request.operation,
                "namespace": request.namespace,
                "userInfo": {"username": request.username},
            }
        ),
    }
    try:
        result = compile_cel(expression).evaluate(activation)
    except CELEvalError as error:
        return f"error: {error}"
    if isinstance(result, CELEvalError):
        return f"error: {result}"
    if not isinstance(result, BoolType):
        return f"error: not a bool: {result!r}"
    return bool(result)


def denials(objects: list[Json], request: Request) -> list[str]:
    """Why the policies (with a Deny binding) refuse the request: a failed
    validation's message, or '<policy>: error: ...' when an expression failed
    to evaluate (failurePolicy Fail: also a denial, but never what a test of a
    wall should rely on)."""
    policies = {
        o["metadata"]["name"]: o for o in objects if o["kind"] == "ValidatingAdmissionPolicy"
    }
    messages = []
    for binding in (o for o in objects if o["kind"] == "ValidatingAdmissionPolicyBinding"):
        spec = binding["spec"]
        policy = policies.get(spec["policyName"])
        if policy is None or "Deny" not in spec["validationActions"]:
            continue
        fails_closed = policy["spec"].get("failurePolicy", "Fail") == "Fail"
        if not _matches(policy["spec"].get("matchConstraints"), request) or not _matches(
            spec.get("matchResources"), request
        ):
            continue
        conditions = [
            _evaluate(c["expression"], request) for c in policy["spec"].get("matchConditions", [])
        ]
        if any(c is False for c in conditions):
            continue
        errors = [c for c in conditions if isinstance(c, str)]
        if errors:
            if fails_closed:
                messages.append(f"{policy['metadata']['name']}: matchCondition {errors[0]}")
            continue
        for validation in policy["spec"]["validations"]:
            outcome = _evaluate(validation["expression"], request)
            if outcome is False:
                messages.append(validation["message"])
            elif isinstance(outcome, str) and fails_closed:
                messages.append(f"{policy['metadata']['name']}: {outcome}")
    return messages
