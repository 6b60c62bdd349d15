"""Admission in team namespaces: the synthesized ValidatingAdmissionPolicies
(release tenant-admission), judged by the model in tests/support/admission.py
with their CEL run in cel-python 0.5.0 (a real CEL engine, pinned in the
Pipfile's dev-packages)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.admission import Request, compile_cel, denials
from tests.support.stacks import dependency_graph, releases, resources, transitive, values_of
from tests.support.synth import Synthesized
from tests.support.variants import VARIANTS, Json

TENANT = "mlops-platform/tenant"
TEAM_LABELS = {
    TENANT: "team",
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}
ARGOCD = "system:serviceaccount:argocd:argo-cd-argocd-application-controller"
TEAM_SA = "system:serviceaccount:team-ml:web"
OPERATOR = "ops@example.com"  # Terraform runs as the operator's Google account


@pytest.fixture
def cel() -> None:
    """The tests that run CEL (cel-python is a pinned dev dependency: never skipped)."""
    import celpy  # noqa: F401


def _objects(synthesized: Synthesized, variant: str = "example") -> list[Json]:
    release = releases(synthesized.stack(variant, "bootstrap"))["tenant-admission"]
    return list(values_of(release)["manifests"])


def service(**spec: Any) -> Request:
    return Request(
        operation="CREATE",
        group="",
        version="v1",
        resource="services",
        username=ARGOCD,
        namespace="team-ml",
        namespace_labels=TEAM_LABELS,
        object={"metadata": {"name": "web", "namespace": "team-ml"}, "spec": spec},
    )


def endpoints(username: str, resource: str = "endpoints") -> Request:
    return Request(
        operation="CREATE",
        group="" if resource == "endpoints" else "discovery.k8s.io",
        version="v1",
        resource=resource,
        username=username,
        namespace="team-ml",
        namespace_labels=TEAM_LABELS,
        object={"metadata": {"name": "web", "namespace": "team-ml"}},
    )


def namespace_change(
    username: str, new: dict[str, str], old: dict[str, str] | None = TEAM_LABELS
) -> Request:
    return Request(
        operation="UPDATE" if old is not None else "CREATE",
        group="",
        version="v1",
        resource="namespaces",
        username=username,
        object={"metadata": {"name": "team-ml", "labels": new}},
        old_object=None if old is None else {"metadata": {"name": "team-ml", "labels": old}},
    )


HOSTILE: list[Any] = [
    pytest.param(service(type="LoadBalancer", ports=[{"port": 80}]), id="load-balancer"),
    pytest.param(service(type="NodePort", ports=[{"port": 80}]), id="node-port"),
    pytest.param(service(type="ClusterIP", externalIPs=["203.0.113.7"]), id="external-ips"),
    pytest.param(endpoints(ARGOCD), id="endpoints-by-argocd"),
    pytest.param(endpoints(TEAM_SA, "endpointslices"), id="endpointslice-by-team-sa"),
    pytest.param(
        namespace_change(
            ARGOCD, {**TEAM_LABELS, "pod-security.kubernetes.io/enforce": "privileged"}
        ),
        id="namespace-privileged",
    ),
    pytest.param(
        namespace_change(ARGOCD, {k: v for k, v in TEAM_LABELS.items() if k != TENANT}),
        id="namespace-drops-tenant-label",  # a namespaceSelector would miss this one
    ),
    pytest.param(
        namespace_change(TEAM_SA, {k: v for k, v in TEAM_LABELS.items() if "enforce" not in k}),
        id="namespace-drops-enforce",
    ),
    pytest.param(
        namespace_change(
            ARGOCD, {**TEAM_LABELS, "pod-security.kubernetes.io/enforce-version": "v1.24"}
        ),
        id="namespace-pins-old-version",
    ),
    pytest.param(namespace_change(ARGOCD, {TENANT: "team"}, old=None), id="sa-creates-tenant-ns"),
    pytest.param(
        namespace_change(ARGOCD, {"x": "y", TENANT: ""}, old={"x": "y"}), id="sa-adds-tenant"
    ),
]

ACCEPTED: list[Any] = [
    pytest.param(service(type="ClusterIP", ports=[{"port": 80}]), id="cluster-ip"),
    pytest.param(service(ports=[{"port": 80}]), id="no-type"),
    pytest.param(service(clusterIP="None", externalIPs=[]), id="headless"),
    pytest.param(
        endpoints("system:serviceaccount:kube-system:endpoint-controller"), id="endpoint-controller"
    ),
    pytest.param(
        endpoints("system:serviceaccount:kube-system:endpointslice-controller", "endpointslices"),
        id="endpointslice-controller",
    ),
    pytest.param(namespace_change(ARGOCD, {**TEAM_LABELS, "team": "x"}), id="other-label"),
    pytest.param(
        namespace_change(
            OPERATOR, {**TEAM_LABELS, "pod-security.kubernetes.io/enforce": "baseline"}
        ),
        id="operator-relabels",
    ),
    pytest.param(namespace_change(ARGOCD, {"x": "y"}, old=None), id="sa-creates-other-ns"),
    pytest.param(
        Request(
            **{
                **service(type="LoadBalancer").__dict__,
                "namespace": "istio-ingress",
                "namespace_labels": {"istio-injection": "enabled"},
            }
        ),
        id="not-a-team-namespace",
    ),
]


@pytest.mark.parametrize("request_", HOSTILE)
@pytest.mark.usefixtures("cel")
def test_hostile_requests_are_denied(synthesized: Synthesized, request_: Request) -> None:
    found = denials(_objects(synthesized), request_)
    assert found, "admission would let it through"
    assert not any("error:" in message for message in found), found  # denied by the rule itself


@pytest.mark.parametrize("request_", ACCEPTED)
@pytest.mark.usefixtures("cel")
def test_ordinary_requests_are_admitted(synthesized: Synthesized, request_: Request) -> None:
    assert denials(_objects(synthesized), request_) == []


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_policies_are_bound_to_deny_and_compile_as_standard_cel(
    synthesized: Synthesized, variant: str
) -> None:
    objects = _objects(synthesized, variant)
    policies = {
        o["metadata"]["name"]: o for o in objects if o["kind"] == "ValidatingAdmissionPolicy"
    }
    bindings = [o for o in objects if o["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert len(policies) == 3 and {o["apiVersion"] for o in objects} == {
        "admissionregistration.k8s.io/v1"
    }
    assert {b["spec"]["policyName"] for b in bindings} == set(policies)
    for binding in bindings:
        assert binding["spec"]["validationActions"] == ["Deny"]
    for policy in policies.values():
        assert policy["spec"]["failurePolicy"] == "Fail"


@pytest.mark.usefixtures("cel")
def test_every_expression_compiles_as_standard_cel(synthesized: Synthesized) -> None:
    """cel-python knows no Kubernetes CEL library function: compiling proves none is used."""
    for obj in _objects(synthesized):
        if obj["kind"] == "ValidatingAdmissionPolicy":
            spec = obj["spec"]
            for item in [*spec.get("matchConditions", []), *spec["validations"]]:
                compile_cel(item["expression"])


def test_admission_is_installed_before_the_team_root_app(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "bootstrap")
    closure = transitive(dependency_graph(stack))
    address = {
        body["name"]: f"helm_release.{key}"
        for key, body in resources(stack, "helm_release").items()
    }
    assert address["tenant-admission"] in closure[address["app-root"]]
