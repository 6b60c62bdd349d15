"""The trust boundary, read from the synthesized bootstrap stack.

- every header an identity consumer reads is written or removed by the gateway
  on every route (consumers' header sets derived from their synthesized config,
  with upstream defaults for unset keys);
- the synthesized AuthorizationPolicies, evaluated (tests/support/istio_authz.py),
  give exactly the reachability table of docs/security.md;
- the gateway admits only verified IAP requests from Google's load balancer;
- no operator credential in state; the secret store serves Argo CD only.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_builders import workloads as builders_workloads
from platform_services.argocd import workloads as argocd_pods
from platform_services.argocd.values import AUTHPROXY_HEADER_DEFAULTS
from platform_services.istio import mesh
from platform_services.istio import workloads as istio_pods
from platform_services.jupyterhub import workloads as jupyterhub_pods
from platform_services.jupyterhub.values import AUTHENTICATOR_CONFIG_KEY
from platform_services.mlflow import workloads as mlflow_pods
from tests.support.istio_authz import Request, Workload, allowed
from tests.support.stacks import custom_resources, releases, values_of
from tests.support.synth import Synthesized
from tests.support.variants import ROOT, Json, example_data

BOTH = ["example", "bastion"]
SECURITY_DOC = ROOT / "docs" / "security.md"
LOAD_BALANCER_IP = "130.211.1.7"
IAP_PRINCIPAL = "https://cloud.google.com/iap/accounts.google.com:1234"


NAMESPACE_REFERENCE = re.compile(
    r"\$\{kubernetes_namespace_v1\.namespace-([a-z0-9-]+)\.metadata\[0\]\.name\}"
)


def _objects(synthesized: Synthesized, variant: str, release: str) -> list[Json]:
    """A release's objects, namespaces references resolved to the names they create."""
    objects = custom_resources(releases(synthesized.stack(variant, "bootstrap"))[release])
    return list(yaml.safe_load(NAMESPACE_REFERENCE.sub(r"\1", yaml.safe_dump(objects))))


def _policies(synthesized: Synthesized, variant: str) -> list[Json]:
    return [
        *_objects(synthesized, variant, "mesh-policies"),
        *_objects(synthesized, variant, "iap-ingress"),
    ]


# --- identity headers ------------------------------------------------------------


def _dex_headers(argocd_values: Json) -> set[str]:
    """Headers Dex's authproxy reads: configured keys, upstream defaults for the rest."""
    dex = yaml.safe_load(argocd_values["configs"]["cm"]["dex.config"])
    headers: set[str] = set()
    for connector in dex["connectors"]:
        if connector["type"] == "authproxy":
            config = connector.get("config", {})
            headers |= {
                (config.get(key) or default).lower()
                for key, default in AUTHPROXY_HEADER_DEFAULTS.items()
            }
    return headers


def _jupyterhub_headers(jupyterhub_values: Json) -> set[str]:
    """Headers the authenticator snippet reads: IDENTITY_HEADER and every header
    name it passes to request.headers, read from its source."""
    code = jupyterhub_values["hub"]["extraConfig"][AUTHENTICATOR_CONFIG_KEY]
    headers: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and [
            t.id for t in node.targets if isinstance(t, ast.Name)
        ] == ["IDENTITY_HEADER"]:
            headers.add(ast.literal_eval(node.value).lower())
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "headers"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            headers.add(str(node.args[0].value).lower())
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "headers"
            and isinstance(node.slice, ast.Constant)
        ):
            headers.add(str(node.slice.value).lower())
    assert headers, "the JupyterHub authenticator reads no header"
    return headers


def identity_consumers(synthesized: Synthesized, variant: str) -> dict[str, set[str]]:
    stack = synthesized.stack(variant, "bootstrap")
    consumers = {"argo-cd (Dex)": _dex_headers(values_of(releases(stack)["argo-cd"]))}
    for name, release in releases(stack).items():
        if release["chart"] != "argocd-apps":
            continue
        for app in values_of(release)["applications"].values():
            helm = app["source"].get("helm", {}).get("valuesObject", {})
            if AUTHENTICATOR_CONFIG_KEY in helm.get("hub", {}).get("extraConfig", {}):
                consumers[name] = _jupyterhub_headers(helm)
    return consumers


def gateway_controlled_headers(synthesized: Synthesized, variant: str) -> dict[str, set[str]]:
    """Per host: headers the gateway removes on every route, or writes from a
    verified claim that every admitted request must carry."""
    objects = _with_project_number(_objects(synthesized, variant, "iap-ingress"))
    written: set[str] = set()
    for auth in (o for o in objects if o["kind"] == "RequestAuthentication"):
        for rule in auth["spec"]["jwtRules"]:
            assert not rule.get("forwardOriginalToken"), "the IAP token must stay at the gateway"
            for output in rule.get("outputClaimToHeaders", []):
                # Only trusted if a token without the claim is refused.
                if _claim_required(objects, output["claim"]):
                    written.add(output["header"].lower())
    per_host: dict[str, set[str]] = {}
    for service in (o for o in objects if o["kind"] == "VirtualService"):
        removed_everywhere: set[str] | None = None
        for route in service["spec"]["http"]:
            removed = {
                h.lower() for h in route.get("headers", {}).get("request", {}).get("remove", [])
            }
            removed_everywhere = (
                removed if removed_everywhere is None else removed_everywhere & removed
            )
        for host in service["spec"]["hosts"]:
            per_host[host] = (removed_everywhere or set()) | written
    return per_host


def _claim_required(objects: list[Json], claim: str) -> bool:
    gateway = Workload(namespace=istio_pods.GATEWAY_NAMESPACE, labels=istio_pods.GATEWAY.selector)
    policies = [o for o in objects if o["kind"] == "AuthorizationPolicy"]
    without = _iap_request(claims={})
    with_claim = _iap_request(claims={claim: "alice@example.com"})
    return allowed(policies, gateway, with_claim) and not allowed(policies, gateway, without)


def _iap_request(**overrides: Any) -> Request:
    fields: dict[str, Any] = {
        "source_ip": LOAD_BALANCER_IP,
        "port": 80,
        "request_principal": IAP_PRINCIPAL,
        "claims": {"email": "alice@example.com"},
        "audiences": ["/projects/123456/global/backendServices/987"],
        **overrides,
    }
    return Request(**fields)


def _with_project_number(policies: list[Json]) -> list[Json]:
    """The project number is a Terraform reference until apply; pin it for evaluation."""
    text = yaml.safe_dump(policies)
    return list(yaml.safe_load(re.sub(r"\$\{[^}]*number\}", "123456", text)))


@pytest.mark.parametrize("variant", BOTH)
def test_every_identity_header_is_gateway_controlled(
    synthesized: Synthesized, variant: str
) -> None:
    consumers = identity_consumers(synthesized, variant)
    controlled = gateway_controlled_headers(synthesized, variant)
    assert controlled, "no routes"
    if variant == "example":  # IAP sign-in for Argo CD, JupyterHub on
        assert len(consumers) == 2, consumers
        assert consumers["argo-cd (Dex)"] == {mesh.IDENTITY_HEADER, "x-remote-group"}
        assert consumers["app-jupyterhub"] == {mesh.IDENTITY_HEADER, "x-forwarded-client-cert"}
    for consumer, headers in consumers.items():
        # A CGI-style server reads x_a_b as x-a-b: both spellings must be controlled.
        spellings = headers | {h.replace("-", "_") for h in headers}
        for host, safe in controlled.items():
            assert spellings <= safe, f"{consumer} reads {spellings - safe} unchecked on {host}"
    for host, safe in controlled.items():
        assert {h.lower() for h in mesh.REMOVED_HEADERS} <= safe, host
        assert {mesh.IDENTITY_HEADER, mesh.IDENTITY_HEADER.replace("-", "_")} <= safe, host


@pytest.mark.parametrize("variant", BOTH)
def test_groups_are_trusted_nowhere(synthesized: Synthesized, variant: str) -> None:
    values = values_of(releases(synthesized.stack(variant, "bootstrap"))["argo-cd"])
    assert values["configs"]["rbac"]["scopes"] == "[email]"
    dex = yaml.safe_load(values["configs"]["cm"]["dex.config"])
    for connector in dex["connectors"]:
        config = connector["config"]
        assert not config.get("staticGroups")
        assert not config.get("insecureEnableGroups")
        if connector["type"] == "authproxy":
            assert config["groupHeader"].lower() in mesh.REMOVED_IDENTITY_HEADERS


# --- the gateway ---------------------------------------------------------------------


@pytest.mark.parametrize("variant", BOTH)
def test_gateway_admits_only_verified_iap_requests_from_google(
    synthesized: Synthesized, variant: str
) -> None:
    policies = _with_project_number(_policies(synthesized, variant))
    gateway = Workload(namespace=istio_pods.GATEWAY_NAMESPACE, labels=istio_pods.GATEWAY.selector)
    assert allowed(policies, gateway, _iap_request())
    refused = {
        "no token": _iap_request(request_principal=None, claims={}, audiences=[]),
        "health path without token": _iap_request(
            request_principal=None, claims={}, audiences=[], path=mesh.HEALTH_CHECK_PATH
        ),
        "another project's backend": _iap_request(
            audiences=["/projects/999/global/backendServices/1"]
        ),
        "token without email": _iap_request(claims={}),
        "from inside the VPC": _iap_request(source_ip="10.16.3.4"),
        "from a pod with a token": _iap_request(
            source_ip="10.16.3.4", principal="cluster.local/ns/jupyterhub/sa/jupyter-user"
        ),
    }
    for case, request in refused.items():
        assert not allowed(policies, gateway, request), case


@pytest.mark.parametrize("variant", BOTH)
def test_gateway_network_policy_admits_only_google_ranges(
    synthesized: Synthesized, variant: str
) -> None:
    policies = [
        o
        for o in _objects(synthesized, variant, "mesh-policies")
        if o["kind"] == "NetworkPolicy"
        and o["metadata"]["namespace"] == istio_pods.GATEWAY_NAMESPACE
    ]
    assert len(policies) == 1
    spec = policies[0]["spec"]
    assert spec["podSelector"] == {"matchLabels": dict(istio_pods.GATEWAY.selector)}
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    assert sorted(peer["ipBlock"]["cidr"] for peer in rule["from"]) == sorted(
        mesh.GOOGLE_LOAD_BALANCER_RANGES
    )
    assert {p["port"] for p in rule["ports"]} == {80, mesh.HEALTH_CHECK_PORT}


# --- reachability ----------------------------------------------------------------------


def _table() -> list[dict[str, str]]:
    text = SECURITY_DOC.read_text(encoding="utf-8")
    block = text.split("<!-- reachability:begin -->")[1].split("<!-- reachability:end -->")[0]
    rows = [line for line in block.strip().splitlines() if line.startswith("|")]
    header = [c.strip().lower() for c in rows[0].strip("|").split("|")]
    return [
        dict(zip(header, (c.strip() for c in r.strip("|").split("|")), strict=True))
        for r in rows[2:]
    ]


def _mesh_workloads(variant: str) -> dict[str, builders_workloads.Workload]:
    """Every workload the table speaks of, as deployed in this variant."""
    workloads = [
        istio_pods.GATEWAY,
        argocd_pods.ARGOCD_SERVER,
        argocd_pods.ARGOCD_DEX,
        argocd_pods.ARGOCD_REPO_SERVER,
        argocd_pods.ARGOCD_REDIS,
        argocd_pods.ARGOCD_CONTROLLER,
        argocd_pods.ARGOCD_APPLICATIONSET,
        argocd_pods.ARGOCD_NOTIFICATIONS,
        *jupyterhub_pods.jupyterhub_workloads("jupyterhub").values(),
    ]
    if variant == "example":
        workloads.append(mlflow_pods.mlflow_workload("mlflow", "mlflow"))
    return {w.name: w for w in workloads}


STRANGERS = {
    "a pod of another namespace": "cluster.local/ns/team-apps/sa/default",
    "no mesh identity": None,
}


@pytest.mark.parametrize("variant", BOTH)
def test_reachability_matches_the_table(synthesized: Synthesized, variant: str) -> None:
    policies = _policies(synthesized, variant)
    workloads = _mesh_workloads(variant)
    callers: dict[str, str | None] = {name: w.principal for name, w in workloads.items()}
    callers.update(STRANGERS)
    rows = [row for row in _table() if row["workload"] in workloads]
    covered = {(row["workload"], int(row["port"])) for row in rows}
    for name, workload in workloads.items():
        if name == istio_pods.GATEWAY.name:
            continue  # the gateway's own rules: test_gateway_admits_only_...
        for port in workload.ports:
            assert (name, port) in covered, f"{name}:{port} is missing from docs/security.md"
    for row in rows:
        target = workloads[row["workload"]]
        assert row["namespace"] == target.namespace
        path = "/" if row["path"] == "any" else row["path"]
        expected = (
            set() if row["callers"] == "-" else {c.strip() for c in row["callers"].split(",")}
        )
        actual = {
            caller
            for caller, principal in callers.items()
            if allowed(
                policies,
                Workload(namespace=target.namespace, labels=target.selector),
                Request(principal=principal, port=int(row["port"]), path=path),
            )
        }
        if variant == "bastion":  # no MLflow
            expected.discard("mlflow")
        assert actual == expected, f"{row['workload']}:{row['port']} {path}"


@pytest.mark.parametrize("variant", BOTH)
def test_platform_namespaces_deny_by_default(synthesized: Synthesized, variant: str) -> None:
    objects = _objects(synthesized, variant, "mesh-policies")
    namespaces = {"argocd", "jupyterhub"} | ({"mlflow"} if variant == "example" else set())
    allow_nothing = {
        o["metadata"]["namespace"]
        for o in objects
        if o["kind"] == "AuthorizationPolicy" and o["spec"] == {}
    }
    strict = {
        o["metadata"]["namespace"]
        for o in objects
        if o["kind"] == "PeerAuthentication" and o["spec"]["mtls"]["mode"] == "STRICT"
    }
    assert namespaces <= allow_nothing
    assert namespaces <= strict
    # A workload nobody named is unreachable, whoever calls.
    stray = Workload(namespace="argocd", labels={"app": "something-new"})
    for principal in (istio_pods.GATEWAY.principal, argocd_pods.ARGOCD_SERVER.principal, None):
        assert not allowed(objects, stray, Request(principal=principal, port=8080))


def test_custom_app_that_trusts_the_header_takes_only_the_gateway() -> None:
    """Policies of the chart-app service for a custom app, both settings."""
    from platform_config import parse_config
    from platform_services.chart_app.policies import chart_app_policies, chart_apps

    data = example_data()
    data["apps"]["notes"] = {
        "chart_repo": "https://charts.example.com",
        "chart": "notes",
        "chart_version": "1.0.0",
        "values_file": "mlflow.yaml",
        "service": "notes",
        "service_port": 80,
        "trusts_identity_header": True,
    }
    data["apps"]["board"] = {**data["apps"]["notes"], "trusts_identity_header": False}
    config = parse_config(data)
    policies = chart_app_policies(config, chart_apps(config))
    pod = cast_workload("notes")
    neighbour = "cluster.local/ns/notes/sa/default"
    assert allowed(policies, pod, Request(principal=istio_pods.GATEWAY.principal, port=3000))
    assert not allowed(policies, pod, Request(principal=neighbour, port=3000))
    assert not allowed(
        policies, pod, Request(principal=argocd_pods.ARGOCD_SERVER.principal, port=3000)
    )
    board = cast_workload("board")
    assert allowed(policies, board, Request(principal=istio_pods.GATEWAY.principal, port=3000))
    assert allowed(
        policies, board, Request(principal="cluster.local/ns/board/sa/default", port=3000)
    )
    assert not allowed(policies, board, Request(principal=neighbour, port=3000))


def cast_workload(namespace: str) -> Workload:
    return Workload(namespace=namespace, labels={"app.kubernetes.io/name": namespace})


# --- credentials and secrets --------------------------------------------------------------


@pytest.mark.parametrize("variant", BOTH)
def test_providers_authenticate_with_the_exec_plugin(
    synthesized: Synthesized, variant: str
) -> None:
    stack = synthesized.stack(variant, "bootstrap")
    assert "google_client_config" not in stack.get("data", {})
    # No Terraform expression reads an access token (the grant Job's script,
    # shipped as data, names the metadata server's own field: not a reference).
    text = Path(synthesized.stack_file(variant, "bootstrap")).read_text()
    assert not re.search(r"\$\{[^}]*access_token", text)
    provider = stack["provider"]
    expected = {
        "api_version": "client.authentication.k8s.io/v1beta1",
        "command": "gke-gcloud-auth-plugin",
    }
    kubernetes = provider["kubernetes"][0]
    helm = provider["helm"][0]["kubernetes"]
    assert kubernetes["exec"] == [expected]
    assert helm["exec"] == expected
    for connection in (kubernetes, helm):
        assert "token" not in connection


@pytest.mark.parametrize("variant", BOTH)
def test_secret_store_serves_only_argocd(synthesized: Synthesized, variant: str) -> None:
    objects = _objects(synthesized, variant, "external-secrets-config")
    (store,) = [o for o in objects if o["kind"] == "ClusterSecretStore"]
    assert store["spec"]["conditions"] == [{"namespaces": ["argocd"]}]
    users = {
        o["metadata"]["namespace"]
        for o in objects
        if o["kind"] == "ExternalSecret"
        and o["spec"].get("secretStoreRef", {}).get("kind") == "ClusterSecretStore"
    }
    assert users <= {"argocd"}


@pytest.mark.parametrize("variant", BOTH)
def test_user_servers_get_no_api_token(synthesized: Synthesized, variant: str) -> None:
    stack = synthesized.stack(variant, "bootstrap")
    apps = values_of(releases(stack)["app-jupyterhub"])["applications"]
    values = apps["jupyterhub"]["source"]["helm"]["valuesObject"]
    assert values["hub"]["config"]["KubeSpawner"]["automount_service_account_token"] is False
    accounts = [
        r
        for r in stack["resource"]["kubernetes_service_account_v1"].values()
        if r["metadata"]["name"] == values["singleuser"]["serviceAccountName"]
    ]
    assert [a["automount_service_account_token"] for a in accounts] == [False]
