"""bootstrap stack: ordering on a fresh cluster, the IAP door, Argo CD, values."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from platform_builders.helm_values import chart_values_problems
from tests.support.stacks import (
    applications_by_name,
    custom_resources,
    dependency_closure,
    dependency_graph,
    only,
    releases,
    resources,
    transitive,
    values_of,
)
from tests.support.synth import Synthesized
from tests.support.variants import Json

BOTH = ["example", "bastion"]

#: Which release installs the CRD (and webhook) each custom resource needs.
#: No GKE custom kinds any more: the door is google_* resources (IapIngress).
CRD_OWNER = {
    "Gateway": "istio-base",
    "VirtualService": "istio-base",
    "RequestAuthentication": "istio-base",
    "AuthorizationPolicy": "istio-base",
    "PeerAuthentication": "istio-base",
    "ClusterSecretStore": "external-secrets",
    "ExternalSecret": "external-secrets",
    "Password": "external-secrets",
    "Application": "argo-cd",
    "AppProject": "argo-cd",
}
#: Webhooks that must be ready before the kind is accepted.
WEBHOOK_OWNER = {"ClusterSecretStore": "external-secrets", "ExternalSecret": "external-secrets"}
GKE_KINDS: set[str] = set()
#: Kubernetes' own kinds, served by every API server.
CORE_KINDS = {
    "NetworkPolicy",
    "ServiceAccount",
    "ConfigMap",
    "Job",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ResourceQuota",
    "LimitRange",
}


def test_snapshot(synthesized: Synthesized, snapshot_json: Any) -> None:
    assert synthesized.stack("example", "bootstrap") == snapshot_json


def test_snapshot_bastion(synthesized: Synthesized, snapshot_json: Any) -> None:
    assert synthesized.stack("bastion", "bootstrap") == snapshot_json


#: How the stack refers to a namespace it creates.
NAMESPACE_REFERENCE = re.compile(
    r"\$\{(kubernetes_namespace_v1\.[A-Za-z0-9_-]+)\.metadata\[0\]\.name\}"
)


def reverse(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """address -> the addresses that depend on it directly."""
    dependents: dict[str, set[str]] = {address: set() for address in graph}
    for address, dependencies in graph.items():
        for dependency in dependencies:
            dependents.setdefault(dependency, set()).add(address)
    return dependents


def namespaced(stack: Json) -> list[tuple[str, str, str]]:
    """(address, what, namespace) for everything that lives in a namespace.

    Releases (Helm keeps their record there), the objects a release writes
    (each its own namespace), an Application's destination, and typed
    kubernetes resources.
    """
    found = []
    for kind, items in stack.get("resource", {}).items():
        for key, body in items.items():
            address = f"{kind}.{key}"
            if kind == "helm_release":
                found.append((address, f"release {body['name']}", body["namespace"]))
                for obj in custom_resources(body):
                    name = f"{obj['kind']} {obj['metadata']['name']}"
                    if "namespace" in obj["metadata"]:
                        found.append((address, name, obj["metadata"]["namespace"]))
                    destination = obj.get("spec", {}).get("destination", {}).get("namespace")
                    if destination:
                        found.append((address, f"{name}'s destination", destination))
            elif kind.startswith("kubernetes_") and kind != "kubernetes_namespace_v1":
                namespace = body.get("metadata", {}).get("namespace")
                if namespace:
                    found.append((address, f"{kind} {body['metadata'].get('name')}", namespace))
    return found


@pytest.mark.parametrize("variant", [*BOTH, "example-plus-app"])
def test_order_on_create_and_destroy(synthesized: Synthesized, variant: str) -> None:
    """The dependency graph, walked both ways.

    Create: no custom resource before the release with its CRD and webhook, and
    nothing before its namespace (all are among its dependencies). Destroy:
    none outlives them (it is among their dependents, so Terraform removes it
    first). A namespace named by a literal string is no dependency at all.
    """
    stack = synthesized.stack(variant, "bootstrap")
    assert resources(stack, "kubernetes_manifest") == {}, (
        "kubernetes_manifest needs CRDs at plan time"
    )
    graph = dependency_graph(stack)
    created_first = transitive(graph)
    destroyed_first = transitive(reverse(graph))
    release_address = {
        body["name"]: f"helm_release.{key}"
        for key, body in resources(stack, "helm_release").items()
    }

    def ordered(thing: str, address: str, prerequisite: str) -> None:
        assert prerequisite in created_first[address], (
            f"{thing} may be created before {prerequisite}"
        )
        assert address in destroyed_first[prerequisite], f"{thing} may outlive {prerequisite}"

    in_namespaces = namespaced(stack)
    for address, thing, namespace in in_namespaces:
        reference = NAMESPACE_REFERENCE.fullmatch(namespace)
        assert reference and reference[1] in graph, (
            f"{thing} ({address}) names namespace {namespace!r}, not the resource that creates it"
        )
        ordered(thing, address, reference[1])
    assert len(in_namespaces) >= 40

    checked = 0
    for name, release in releases(stack).items():
        address = release_address[name]
        for obj in custom_resources(release):
            kind = obj["kind"]
            if kind in GKE_KINDS | CORE_KINDS:
                continue
            assert kind in CRD_OWNER, f"{name}: unknown custom resource kind {kind}"
            owners = {CRD_OWNER[kind]} | ({WEBHOOK_OWNER[kind]} if kind in WEBHOOK_OWNER else set())
            for owner in owners:
                assert owner != name, f"{kind} in the release that installs its CRD ({name})"
                ordered(f"{kind} {obj['metadata']['name']}", address, release_address[owner])
            if kind in WEBHOOK_OWNER:
                assert releases(stack)[WEBHOOK_OWNER[kind]]["wait"] is True
            checked += 1
    assert checked >= 10

    # Every Application after the AppProject it names (Argo CD refuses an
    # Application whose project does not exist), and removed before it.
    project_release = {
        obj["metadata"]["name"]: release_address[name]
        for name, release in releases(stack).items()
        for obj in custom_resources(release)
        if obj["kind"] == "AppProject"
    }
    applications = [
        (release_address[name], obj)
        for name, release in releases(stack).items()
        for obj in custom_resources(release)
        if obj["kind"] == "Application"
    ]
    for address, app in applications:
        project = app["spec"]["project"]
        assert project in project_release, f"Application {app['metadata']['name']}: no {project}"
        ordered(f"Application {app['metadata']['name']}", address, project_release[project])
    assert len(applications) >= 3


@pytest.mark.parametrize("variant", BOTH)
def test_operator_charts_carry_no_custom_resources(synthesized: Synthesized, variant: str) -> None:
    for name in ("istio-base", "istiod", "external-secrets", "argo-cd"):
        values = values_of(releases(synthesized.stack(variant, "bootstrap"))[name])
        assert not values.get("extraObjects"), name


@pytest.mark.parametrize("variant", BOTH)
def test_install_chain(synthesized: Synthesized, variant: str) -> None:
    closure = dependency_closure(synthesized.stack(variant, "bootstrap"))
    assert closure["istiod"] == {"istio-base"}
    assert "istiod" in closure["istio-gateway"]
    assert {"istiod", "external-secrets-config"} <= closure["argo-cd"]
    assert {"istiod", "istio-gateway"} <= closure["iap-ingress"]
    assert "argo-cd" in closure["app-root"]
    assert "argo-cd" in closure["argocd-projects"]
    # Argo CD takes itself over only once its own release is ready (wait = true).
    assert {"argo-cd", "argocd-projects"} <= closure["app-argo-cd"]
    assert releases(synthesized.stack(variant, "bootstrap"))["argo-cd"]["wait"] is True


@pytest.mark.parametrize("variant", [*BOTH, "example-plus-app"])
def test_argo_cd_upgrade_order(synthesized: Synthesized, variant: str) -> None:
    """Upgrading Argo CD (docs/architecture.md, "Argo CD manages itself").

    One order serves a fresh install and an upgrade: the argo-cd release (CRDs,
    then the upgrade, wait = true, atomic) strictly before its Application,
    which Terraform then rewrites to the same definition. In the window between
    the two the Application still holds the old definition, so it must not act
    on drift: automated sync without selfHeal, which syncs only when the
    Application's source changes (Argo CD v3.4.4 controller/appcontroller.go
    autoSync, lines 2251-2261 and 2366), i.e. when Terraform has written the
    release's new definition into it.
    """
    stack = synthesized.stack(variant, "bootstrap")
    graph = dependency_graph(stack)
    address = {
        body["name"]: f"helm_release.{key}"
        for key, body in resources(stack, "helm_release").items()
    }
    release, application = address["argo-cd"], address["app-argo-cd"]
    # Create and update: the release first (the Application's CRD comes with
    # it); destroy: the Application first. A direct edge, not a chance path.
    assert release in graph[application]
    assert application not in transitive(graph)[release]
    apps = applications_by_name(stack)
    policy = apps["argo-cd"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": False}, (
        "Argo CD's own Application would revert a Terraform upgrade of the "
        "argo-cd release before Terraform updates the Application"
    )
    assert "enabled" not in policy["automated"]
    # Only the double-managed app: the others have no Terraform release to fight.
    others = {name: app for name, app in apps.items() if name != "argo-cd"}
    assert others and all(a["syncPolicy"]["automated"]["selfHeal"] for a in others.values())


@pytest.mark.parametrize("variant", BOTH)
def test_releases_pinned_waited_atomic(synthesized: Synthesized, variant: str) -> None:
    for name, release in releases(synthesized.stack(variant, "bootstrap")).items():
        assert release["wait"] is True and release["atomic"] is True, name
        assert release["create_namespace"] is False, name
        if "repository" in release:
            assert re.fullmatch(r"\d+\.\d+\.\d+", release["version"]), name
        else:
            assert release["chart"].startswith("assets/"), name  # the local manifests chart


def test_chart_versions(synthesized: Synthesized) -> None:
    versions = {
        n: (r["chart"], r.get("version"))
        for n, r in releases(synthesized.stack("example", "bootstrap")).items()
    }
    assert versions["istio-base"] == ("base", "1.30.3")
    assert versions["istiod"] == ("istiod", "1.30.3")
    assert versions["istio-gateway"] == ("gateway", "1.30.3")
    assert versions["external-secrets"] == ("external-secrets", "2.9.0")
    assert versions["argo-cd"] == ("argo-cd", "10.1.1")


def door(stack: Json, kind: str) -> list[Json]:
    return list(resources(stack, kind).values())


@pytest.mark.parametrize("variant", BOTH)
def test_door_is_a_terraform_owned_load_balancer_behind_iap(
    synthesized: Synthesized, variant: str
) -> None:
    """The request path on the new objects: IAP without a client, health check on
    the status port, firewall for Google's ranges, HTTPS on the static IP, HTTP redirected."""
    stack = synthesized.stack(variant, "bootstrap")
    assert resources(stack, "kubernetes_ingress_v1") == {}
    backend = only(stack, "google_compute_backend_service")
    assert backend["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    assert backend["iap"] == {"enabled": True}  # no oauth2 client: Google-managed client
    group = backend["dynamic"]["backend"]["content"]["group"]
    assert group.endswith(f"/zones/${{each.value}}/networkEndpointGroups/mlops-{variant}-gateway")
    assert "node_locations" in backend["dynamic"]["backend"]["for_each"]
    check = only(stack, "google_compute_health_check")["http_health_check"]
    assert check == {
        "port": 15021,
        "port_specification": "USE_FIXED_PORT",
        "request_path": "/healthz/ready",
    }
    firewall = only(stack, "google_compute_firewall")
    assert sorted(firewall["source_ranges"]) == ["130.211.0.0/22", "35.191.0.0/16"]
    assert firewall["allow"] == [{"protocol": "tcp", "ports": ["80", "15021"]}]
    assert "node-identity" in firewall["target_service_accounts"][0]
    https = only(stack, "google_compute_target_https_proxy")
    assert https["certificate_map"].startswith("//certificatemanager.googleapis.com/${")
    assert "certificate_map" in https["certificate_map"]
    rules = {r["port_range"]: r for r in door(stack, "google_compute_global_forwarding_rule")}
    assert sorted(rules) == ["443", "80"]
    for rule in rules.values():
        assert rule["load_balancing_scheme"] == "EXTERNAL_MANAGED"
        assert "ingress-ip" in rule["ip_address"]
    assert "target_https_proxy" in rules["443"]["target"]
    assert "target_http_proxy" in rules["80"]["target"]
    redirect = next(m for m in door(stack, "google_compute_url_map") if "default_url_redirect" in m)
    assert redirect["default_url_redirect"] == {
        "https_redirect": True,
        "strip_query": False,
        "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT",
    }
    gateway_values = values_of(releases(stack)["istio-gateway"])
    assert gateway_values["service"]["type"] == "ClusterIP"
    assert gateway_values["service"]["annotations"] == {
        "cloud.google.com/neg": json.dumps(
            {"exposed_ports": {"80": {"name": f"mlops-{variant}-gateway"}}}
        )
    }


@pytest.mark.parametrize(
    ("variant", "timeout", "draining"), [("example", 3600, 60), ("bastion", 7200, 0)]
)
def test_gateway_backend_keeps_websockets_open(
    synthesized: Synthesized, variant: str, timeout: int, draining: int
) -> None:
    """Google's default backend timeout (30 s) is also the longest a WebSocket lives."""
    backend = only(synthesized.stack(variant, "bootstrap"), "google_compute_backend_service")
    assert backend["timeout_sec"] == timeout >= 3600
    assert backend["connection_draining_timeout_sec"] == draining


@pytest.mark.parametrize("variant", [*BOTH, "example-plus-app"])
def test_door_built_after_the_gateway_and_its_certificates(
    synthesized: Synthesized, variant: str
) -> None:
    """The order the move from the old door relies on (README).

    The certificates live in the network stack, deployed (and ACTIVE through DNS-01)
    before the bootstrap stack touches the load balancer: the HTTPS proxy reads the
    map from the network stack's state, and no certificate is made here. The backend
    waits for the gateway release (wait = true: its NEGs exist), the forwarding
    rules for the backend, proxies and URL maps.
    """
    stack = synthesized.stack(variant, "bootstrap")
    assert not [k for k in stack["resource"] if k.startswith("google_certificate_manager")]
    assert "networking.gke.io" not in json.dumps(stack)  # no ManagedCertificate, FrontendConfig
    https = only(stack, "google_compute_target_https_proxy")
    assert "cross-stack-reference-input-network" in https["certificate_map"]
    graph = dependency_graph(stack)
    closure = transitive(graph)
    backend = "google_compute_backend_service." + next(
        iter(resources(stack, "google_compute_backend_service"))
    )
    gateway = next(
        f"helm_release.{k}"
        for k, r in resources(stack, "helm_release").items()
        if r["name"] == "istio-gateway"
    )
    assert releases(stack)["istio-gateway"]["wait"] is True
    assert gateway in closure[backend]
    for key in resources(stack, "google_compute_global_forwarding_rule"):
        rule = closure[f"google_compute_global_forwarding_rule.{key}"]
        if resources(stack, "google_compute_global_forwarding_rule")[key]["port_range"] == "443":
            assert backend in rule and gateway in rule


def test_adding_an_app_changes_no_certificate(synthesized: Synthesized) -> None:
    """The certificate set (authorizations, certificates, map, entries) is fixed."""
    before = synthesized.stack("example", "network")
    after = synthesized.stack("example-plus-app", "network")
    kinds = [k for k in before["resource"] if k.startswith("google_certificate_manager")]
    assert len(kinds) == 4
    for kind in kinds:
        assert resources(after, kind) == resources(before, kind), kind
    thirty = synthesized.stack("thirty-apps", "network")
    assert len(resources(thirty, "google_certificate_manager_certificate")) == 2


def test_thirty_apps_synthesize_behind_one_door(synthesized: Synthesized) -> None:
    stack = synthesized.stack("thirty-apps", "bootstrap")
    objects = custom_resources(releases(stack)["iap-ingress"])
    hosts = {o["spec"]["hosts"][0] for o in objects if o["kind"] == "VirtualService"}
    assert len(hosts) == 34  # argocd, jupyterhub and its users' hosts, mlflow and 30 apps
    assert len(resources(stack, "google_compute_target_https_proxy")) == 1


def jupyterhub_values_of(stack: Json) -> Json:
    for release in releases(stack).values():
        if release["chart"] == "argocd-apps":
            app = values_of(release)["applications"].get("jupyterhub")
            if app:
                values: Json = app["source"]["helm"]["valuesObject"]
                return values
    raise AssertionError("no jupyterhub Application")


@pytest.mark.parametrize(("variant", "gpu_slugs"), [("example", []), ("bastion", ["gpu-gpu"])])
def test_jupyterhub_gpu_profile_follows_the_pool(
    synthesized: Synthesized, variant: str, gpu_slugs: list[str]
) -> None:
    profiles = jupyterhub_values_of(synthesized.stack(variant, "bootstrap"))["singleuser"][
        "profileList"
    ]
    assert [p["slug"] for p in profiles] == ["cpu", *gpu_slugs]
    for profile in profiles[1:]:
        override = profile["kubespawner_override"]
        # The bastion variant's pool "gpu": nvidia-l4, 1 per node.
        assert override["node_selector"]["cloud.google.com/gke-nodepool"] == "gpu"
        assert override["node_selector"]["cloud.google.com/gke-accelerator"] == "nvidia-l4"
        assert override["extra_resource_limits"] == {"nvidia.com/gpu": "1"}


def test_iap_jwt_verified_in_the_mesh(synthesized: Synthesized) -> None:
    objects = custom_resources(releases(synthesized.stack("example", "bootstrap"))["iap-ingress"])
    request_auth = next(o for o in objects if o["kind"] == "RequestAuthentication")
    rule = request_auth["spec"]["jwtRules"][0]
    assert rule["issuer"] == "https://cloud.google.com/iap"
    assert rule["jwksUri"] == "https://www.gstatic.com/iap/verify/public_key-jwk"
    assert rule["fromHeaders"] == [{"name": "x-goog-iap-jwt-assertion"}]
    assert rule["outputClaimToHeaders"] == [{"header": "x-iap-user-email", "claim": "email"}]
    assert rule["forwardOriginalToken"] is False
    # What the DENY policy admits is evaluated in tests/services/istio/test_trust_boundary.py.
    deny = next(o for o in objects if o["kind"] == "AuthorizationPolicy")
    assert deny["spec"]["action"] == "DENY"


def test_one_virtual_service_per_host(synthesized: Synthesized) -> None:
    objects = custom_resources(releases(synthesized.stack("example", "bootstrap"))["iap-ingress"])
    routes = {
        o["spec"]["hosts"][0]: o["spec"]["http"][0]["route"][0]["destination"]
        for o in objects
        if o["kind"] == "VirtualService"
    }
    assert routes == {
        "argocd.mlops.example.com": {
            "host": "argocd-server.argocd.svc.cluster.local",
            "port": {"number": 80},
        },
        "jupyterhub.mlops.example.com": {
            "host": "proxy-public.jupyterhub.svc.cluster.local",
            "port": {"number": 80},
        },
        # Each user's server and each JupyterHub service (subdomain_host): the
        # proxy routes by host.
        "*.jupyterhub.mlops.example.com": {
            "host": "proxy-public.jupyterhub.svc.cluster.local",
            "port": {"number": 80},
        },
        "mlflow.mlops.example.com": {
            "host": "mlflow.mlflow.svc.cluster.local",
            "port": {"number": 80},
        },
    }
    gateway = next(o for o in objects if o["kind"] == "Gateway")
    assert sorted(gateway["spec"]["servers"][0]["hosts"]) == sorted(routes)


def test_namespaces_and_injection(synthesized: Synthesized) -> None:
    namespaces = {
        n["metadata"]["name"]: n["metadata"]["labels"]["istio-injection"]
        for n in resources(
            synthesized.stack("example", "bootstrap"), "kubernetes_namespace_v1"
        ).values()
    }
    assert namespaces == {
        "istio-system": "disabled",
        "external-secrets": "disabled",
        "istio-ingress": "enabled",
        "argocd": "enabled",
        "jupyterhub": "enabled",
        "mlflow": "enabled",
        "team-apps": "disabled",  # the team's Application objects, no pods
        "team-ml": "disabled",  # the team's workloads: restricted, out of the mesh
    }


def test_external_secrets_objects(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "bootstrap")
    eso_values = values_of(releases(stack)["external-secrets"])
    assert "${" in eso_values["serviceAccount"]["annotations"]["iam.gke.io/gcp-service-account"]
    objects = {
        o["kind"] + "/" + o["metadata"]["name"]: o
        for o in custom_resources(releases(stack)["external-secrets-config"])
    }
    store = objects["ClusterSecretStore/gcp-secret-manager"]
    assert store["apiVersion"] == "external-secrets.io/v1"
    ref = store["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]["serviceAccountRef"]
    assert ref == {"name": "external-secrets", "namespace": "external-secrets"}
    repo = objects["ExternalSecret/gitops-repository"]["spec"]
    assert repo["target"]["template"]["metadata"]["labels"] == {
        "argocd.argoproj.io/secret-type": "repository"
    }
    assert repo["target"]["template"]["data"]["url"] == "git@github.com:example/mlops-gitops.git"
    assert repo["dataFrom"] == [{"extract": {"key": "example-argocd-repo-credentials"}}]


def test_argocd_configuration(synthesized: Synthesized) -> None:
    values = values_of(releases(synthesized.stack("example", "bootstrap"))["argo-cd"])
    assert values["configs"]["params"]["server.insecure"] is True
    assert values["configs"]["cm"]["admin.enabled"] is False
    assert values["configs"]["cm"]["url"] == "https://argocd.mlops.example.com"
    dex = yaml.safe_load(values["configs"]["cm"]["dex.config"])
    assert dex["connectors"][0]["type"] == "authproxy"
    assert dex["connectors"][0]["config"]["userHeader"] == "x-iap-user-email"
    assert values["configs"]["rbac"]["policy.csv"] == "g, admin@example.com, role:admin\n"
    assert values["configs"]["rbac"]["policy.default"] == "role:readonly"


def test_argocd_google_oidc_alternative(synthesized: Synthesized) -> None:
    stack = synthesized.stack("bastion", "bootstrap")
    values = values_of(releases(stack)["argo-cd"])
    dex = yaml.safe_load(values["configs"]["cm"]["dex.config"])
    assert dex["connectors"][0]["type"] == "oidc"
    assert dex["connectors"][0]["config"]["clientSecret"] == "$argocd-oidc-client:clientSecret"
    objects = custom_resources(releases(stack)["external-secrets-config"])
    oidc = next(o for o in objects if o["metadata"]["name"] == "argocd-oidc-client")
    assert oidc["spec"]["target"]["template"]["metadata"]["labels"] == {
        "app.kubernetes.io/part-of": "argocd"
    }


def test_applications_pinned_and_self_healing(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "bootstrap")
    apps = {}
    for release in releases(stack).values():
        if release["chart"] == "argocd-apps":
            apps.update(values_of(release)["applications"])
    assert set(apps) == {"jupyterhub", "mlflow", "root", "argo-cd"}
    for name, app in apps.items():
        # Argo CD's own: no selfHeal (test_argo_cd_upgrade_order).
        self_heal = name != "argo-cd"
        assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": self_heal}
        assert "CreateNamespace=true" in app["syncPolicy"]["syncOptions"]
    assert apps["jupyterhub"]["source"]["targetRevision"] == "4.4.0"
    assert apps["mlflow"]["source"]["targetRevision"] == "1.11.5"
    assert apps["root"]["source"] == {
        "repoURL": "git@github.com:example/mlops-gitops.git",
        "targetRevision": "main",
        "path": "apps",
        "directory": {"recurse": True},
    }


CHART_FIXTURE = {
    "base": "istio-base",
    "istiod": "istiod",
    "gateway": "istio-gateway",
    "external-secrets": "external-secrets",
    "argo-cd": "argo-cd",
    "argocd-apps": "argocd-apps",
}


@pytest.mark.parametrize("variant", BOTH)
def test_release_values_use_the_charts_real_keys(synthesized: Synthesized, variant: str) -> None:
    problems = []
    for release in releases(synthesized.stack(variant, "bootstrap")).values():
        if release["chart"] in CHART_FIXTURE:
            problems += chart_values_problems(CHART_FIXTURE[release["chart"]], values_of(release))
        if release["chart"] == "argocd-apps":
            for app in values_of(release)["applications"].values():
                chart = app["source"].get("chart")
                if chart in {"jupyterhub", "mlflow", "argo-cd"}:
                    problems += chart_values_problems(chart, app["source"]["helm"]["valuesObject"])
    assert problems == []


def test_dns_mode_providers_use_the_dns_endpoint(synthesized: Synthesized) -> None:
    provider = synthesized.stack("example", "bootstrap")["provider"]
    kubernetes = provider["kubernetes"][0]
    assert kubernetes["host"].startswith("https://${")
    assert "proxy_url" not in kubernetes
    assert "cluster_ca_certificate" not in kubernetes
    assert provider["helm"][0]["kubernetes"]["host"] == kubernetes["host"]


def test_bastion_mode_providers_go_through_the_tunnel(synthesized: Synthesized) -> None:
    provider = synthesized.stack("bastion", "bootstrap")["provider"]
    for connection in (provider["kubernetes"][0], provider["helm"][0]["kubernetes"]):
        assert connection["proxy_url"] == "http://localhost:8888"
        assert connection["cluster_ca_certificate"].startswith("${base64decode(")


@pytest.mark.parametrize("variant", BOTH)
def test_last_output_lists_exactly_the_steps_left(synthesized: Synthesized, variant: str) -> None:
    """bootstrap's next_step (printed last by `make deploy`): the secrets to fill
    with the very commands the cluster stack prints, the DNS records when no
    Cloud DNS zone is set, then signing in; nothing about finished stacks."""
    text = synthesized.stack(variant, "bootstrap")["output"]["next_step"]["value"]
    steps = re.findall(r"\((\d+)\) ([^;]*?)(?:;|\.$)", text)
    assert [int(number) for number, _ in steps] == list(range(1, len(steps) + 1))
    fill = synthesized.stack(variant, "cluster")["output"]["secrets_to_fill"]["value"]
    expected_secrets = [
        f"add the secret {name}: {command}" for name, command in sorted(fill.items())
    ]
    bodies = [body for _, body in steps]
    assert bodies[: len(expected_secrets)] == expected_secrets
    rest = bodies[len(expected_secrets) :]
    dns = [step for step in rest if step.startswith("create the DNS record")]
    if variant == "example":  # no managed zone, MLflow on, an SSH repo
        assert list(fill) == ["repo-credentials"]
        # Apex, wildcard, the per-user hosts' parent and wildcard, then the two
        # certificates' DNS authorization CNAMEs (known once they are created).
        assert [d.split()[-2] for d in dns][:4] == ["A", "CNAME", "CNAME", "CNAME"]
        assert len(dns) == 6
        assert all("dns_resource_record" in d for d in dns[4:])
    else:  # Cloud DNS zone, MLflow off, Google OIDC client to fill
        assert list(fill) == ["oidc-client"]
        assert dns == []
    # The MLflow database grant is no step left: the deploy makes it.
    assert not any("MLflow" in step or "grant" in step for step in rest)
    assert rest[-1].startswith("open https://argocd.")
    assert "make deploy" not in text
