"""Constructor validations of platform_constructs, one rule at a time.

In cdk-nag's test style: for every `raise ValueError` in a construct, a
non-compliant case that must raise (matched on the message) and a compliant
case that builds and synthesizes, asserting what the rule protects in the
Terraform JSON. Each construct has one builder that takes good props and
applies `dataclasses.replace(good, **changes)`, so a bad case is a table row.

Every case builds its construct alone in `TerraformStack(Testing.app(),
"test")`; nothing synthesizes the app (conftest.py does that once per
session).
"""

from __future__ import annotations

import json
import re
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

import pytest
import yaml
from cdktf import TerraformStack
from cdktf import Testing as CdktfTesting  # as `Testing`, pytest would try to collect it
from cdktf_cdktf_provider_google.provider import GoogleProvider
from cdktf_cdktf_provider_helm.provider import HelmProvider
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1
from constructs import Construct

from platform_builders.charts import ChartRef
from platform_constructs.argo_app import ArgoApp, ArgoAppProps, GitPathSource, HelmChartSource
from platform_constructs.cluster_access import ClusterAccess, ClusterAccessProps
from platform_constructs.gke_node_pool import GkeNodePool, GkeNodePoolProps
from platform_constructs.helm_chart_release import HelmChartRelease, HelmChartReleaseProps
from platform_constructs.iap_bastion import IapBastion, IapBastionProps
from platform_constructs.iap_ingress import (
    DOOR_PARTS,
    IapIngress,
    IapIngressProps,
    RouteTarget,
    gateway_service_annotations,
    neg_self_link,
)
from platform_constructs.iap_web_access import IAP_WEB_USER_ROLE, IapWebAccess, IapWebAccessProps
from platform_constructs.ingress_dns import IngressDns, IngressDnsProps
from platform_constructs.managed_secret import ManagedSecret, ManagedSecretProps
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps
from platform_constructs.private_gke_cluster import (
    BastionSpec,
    NodePoolSpec,
    PrivateGkeCluster,
    PrivateGkeClusterProps,
)
from platform_constructs.private_services_access import (
    PrivateServicesAccess,
    PrivateServicesAccessProps,
)
from platform_constructs.private_vpc import PrivateVpc, PrivateVpcProps
from platform_constructs.project_services import PLATFORM_APIS, ProjectServices
from platform_constructs.service_identity import (
    KubernetesServiceAccountRef,
    ServiceIdentity,
    ServiceIdentityProps,
)
from platform_constructs.wildcard_certificates import (
    DnsRecord,
    WildcardCertificates,
    WildcardCertificatesProps,
)
from platform_services.argocd.cluster_facts import ClusterFacts
from platform_services.mlflow.cloud import MlflowStorage, MlflowStorageProps
from tests.support.stacks import only, resources
from tests.support.variants import Json

PROJECT = "example-project"
REGION = "europe-west1"
Changes = dict[str, Any]


def new_stack() -> TerraformStack:
    """A fresh stack with the Google provider (most constructs need it)."""
    stack = TerraformStack(CdktfTesting.app(), "test")
    GoogleProvider(stack, "google", project=PROJECT, region=REGION)
    return stack


def synth(construct: Construct) -> Json:
    """The Terraform JSON of the stack holding `construct`."""
    data = json.loads(CdktfTesting.synth(TerraformStack.of(construct)))
    assert isinstance(data, dict)
    return data


def rejects(match: str) -> AbstractContextManager[pytest.ExceptionInfo[ValueError]]:
    """pytest.raises(ValueError) whose message contains `match` literally."""
    return pytest.raises(ValueError, match=re.escape(match))


def release_values(release: Json) -> Json:
    """The (single) values YAML of a helm_release, parsed."""
    values = yaml.safe_load(release["values"][0])
    assert isinstance(values, dict)
    return values


# --- ArgoApp ---------------------------------------------------------------------------
# Rules: application name is a DNS label; a Helm source is pinned to x.y.z;
# a Git source has a revision and a relative path.

CHART_SOURCE = HelmChartSource(
    repo_url="https://charts.example.com", chart="mlflow", version="1.2.3"
)
GIT_SOURCE = GitPathSource(
    repo_url="https://github.com/example/gitops.git", revision="main", path="apps"
)


def argo_app(**changes: Any) -> ArgoApp:
    stack = new_stack()
    props = ArgoAppProps(
        name="mlflow",
        destination_namespace="mlflow",
        source=CHART_SOURCE,
        argocd_namespace="argocd",
        provider=HelmProvider(stack, "helm"),
        depends_on=[],
        project="platform",
    )
    return ArgoApp(stack, "app", props=replace(props, **changes))


def argo_source(app: ArgoApp, name: str) -> Json:
    release = only(synth(app), "helm_release")
    assert release["name"] == f"app-{name}"
    source = release_values(release)["applications"][name]["source"]
    assert isinstance(source, dict)
    return source


@pytest.mark.parametrize("name", ["mlflow", "a", "team-1-notebooks", "a" * 49])
def test_argo_app_accepts_dns_label_names(name: str) -> None:
    assert argo_source(argo_app(name=name), name)["repoURL"] == CHART_SOURCE.repo_url


@pytest.mark.parametrize("version", ["1.2.3", "10.1.1-rc.1"])
def test_argo_app_pins_the_chart_version(version: str) -> None:
    app = argo_app(source=replace(CHART_SOURCE, version=version))
    source = argo_source(app, "mlflow")
    assert (source["chart"], source["targetRevision"]) == ("mlflow", version)


def test_argo_app_git_source_has_revision_and_relative_path() -> None:
    source = argo_source(argo_app(source=GIT_SOURCE), "mlflow")
    assert (source["targetRevision"], source["path"]) == ("main", "apps")
    assert source["directory"] == {"recurse": True}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"name": "MLflow"}, "invalid application name 'MLflow'", id="name-uppercase"),
        pytest.param({"name": "-mlflow"}, "invalid application name", id="name-leading-hyphen"),
        pytest.param({"name": "mlflow-"}, "invalid application name", id="name-trailing-hyphen"),
        pytest.param({"name": "a" * 54}, "invalid application name", id="name-too-long"),
        # The Helm release is app-<name>: 50 would make a 54-character release name.
        pytest.param({"name": "a" * 50}, "at most 49 characters", id="release-name-too-long"),
        pytest.param({"name": ""}, "invalid application name", id="name-empty"),
        pytest.param(
            {"source": replace(CHART_SOURCE, version="1.2")}, "is not pinned (x.y.z)", id="x.y"
        ),
        pytest.param(
            {"source": replace(CHART_SOURCE, version="^1.2.3")}, "is not pinned", id="range"
        ),
        pytest.param(
            {"source": replace(CHART_SOURCE, version="latest")}, "is not pinned", id="latest"
        ),
        pytest.param(
            {"source": replace(GIT_SOURCE, revision="")},
            "need a revision and a relative path",
            id="git-no-revision",
        ),
        pytest.param(
            {"source": replace(GIT_SOURCE, path="/apps")},
            "need a revision and a relative path",
            id="git-absolute-path",
        ),
        pytest.param(
            {"project": "default"}, "is not one of the platform's AppProjects", id="default-project"
        ),
    ],
)
def test_argo_app_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        argo_app(**changes)


# --- ClusterAccess ---------------------------------------------------------------------
# Rules: proxy_url is a local tunnel; the proxied (private IP) endpoint has a CA.


def cluster_access(**changes: Any) -> ClusterAccess:
    props = ClusterAccessProps(endpoint="gke-123.europe-west1.gke.goog")
    return ClusterAccess(new_stack(), "access", props=replace(props, **changes))


def test_cluster_access_dns_mode_uses_no_proxy() -> None:
    providers = synth(cluster_access())["provider"]
    kubernetes = providers["kubernetes"][0]
    assert kubernetes["host"] == "https://gke-123.europe-west1.gke.goog"
    assert "proxy_url" not in kubernetes
    assert "proxy_url" not in providers["helm"][0]["kubernetes"]


def test_cluster_access_bastion_mode_goes_through_the_local_tunnel_with_the_ca() -> None:
    access = cluster_access(
        endpoint="10.0.0.2", ca_certificate="Q0E=", proxy_url="http://localhost:8888"
    )
    providers = synth(access)["provider"]
    for connection in (providers["kubernetes"][0], providers["helm"][0]["kubernetes"]):
        assert connection["proxy_url"] == "http://localhost:8888"
        assert connection["cluster_ca_certificate"] == '${base64decode("Q0E=")}'


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param(
            {"proxy_url": "http://proxy.example.com:8888", "ca_certificate": "Q0E="},
            "proxy_url must be a local tunnel",
            id="remote-proxy",
        ),
        pytest.param(
            {"proxy_url": "https://localhost:8888", "ca_certificate": "Q0E="},
            "proxy_url must be a local tunnel",
            id="https-proxy",
        ),
        pytest.param(
            {"proxy_url": "http://localhost:8888@evil.example.com", "ca_certificate": "Q0E="},
            "proxy_url must be a local tunnel",
            id="credentials-trick",
        ),
        pytest.param(
            {"proxy_url": "http://localhost:", "ca_certificate": "Q0E="},
            "proxy_url must be a local tunnel",
            id="no-port",
        ),
        pytest.param(
            {"proxy_url": "http://localhost:port", "ca_certificate": "Q0E="},
            "proxy_url must be a local tunnel",
            id="port-not-a-number",
        ),
        pytest.param(
            {"proxy_url": "http://localhost:8888"},
            "the private endpoint needs ca_certificate",
            id="proxy-without-ca",
        ),
    ],
)
def test_cluster_access_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        cluster_access(**changes)


# --- GkeNodePool -----------------------------------------------------------------------
# Rules: min_nodes <= max_nodes; min_nodes >= 0 and max_nodes >= 1; zones, when given,
# are distinct zones of the pool's region.


def node_pool(**changes: Any) -> GkeNodePool:
    props = GkeNodePoolProps(
        name="general",
        cluster_id="projects/example-project/locations/europe-west1/clusters/platform",
        location=REGION,
        service_account_email="nodes@example-project.iam.gserviceaccount.com",
    )
    return GkeNodePool(new_stack(), "pool", props=replace(props, **changes))


@pytest.mark.parametrize(("min_nodes", "max_nodes"), [(1, 3), (0, 1), (2, 2)])
def test_node_pool_autoscales_within_its_bounds(min_nodes: int, max_nodes: int) -> None:
    pool = only(
        synth(node_pool(min_nodes=min_nodes, max_nodes=max_nodes)), "google_container_node_pool"
    )
    assert pool["autoscaling"] == {"min_node_count": min_nodes, "max_node_count": max_nodes}
    assert pool["initial_node_count"] == min_nodes


@pytest.mark.parametrize("zones", [None, [f"{REGION}-b"], [f"{REGION}-b", f"{REGION}-d"]])
def test_node_pool_runs_in_its_zones(zones: list[str] | None) -> None:
    pool = only(synth(node_pool(zones=zones)), "google_container_node_pool")
    assert pool.get("node_locations") == zones


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"min_nodes": 4, "max_nodes": 3}, "min_nodes 4 > max_nodes 3", id="min>max"),
        pytest.param({"min_nodes": -1}, "need min_nodes >= 0", id="negative-min"),
        pytest.param(
            {"min_nodes": 0, "max_nodes": 0}, "need min_nodes >= 0 and max_nodes >= 1", id="max-0"
        ),
        pytest.param(
            {"gpu_type": "nvidia-l4", "gpu_count": 0},
            "gpu_count must be >= 1 with a gpu_type",
            id="gpu-count-0",
        ),
        pytest.param({"zones": []}, "zones is empty", id="zones-empty"),
        pytest.param(
            {"zones": [f"{REGION}-b", f"{REGION}-b"]}, "duplicate zones", id="zones-duplicate"
        ),
        pytest.param(
            {"zones": ["us-central1-a"]}, "are not zones of europe-west1", id="zone-other-region"
        ),
        pytest.param({"zones": [REGION]}, "are not zones of europe-west1", id="zone-is-region"),
        pytest.param(
            {"zones": [f"{REGION}-b,{REGION}-c"]}, "are not zones of", id="zone-list-in-a-string"
        ),
    ],
)
def test_node_pool_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        node_pool(**changes)


# --- HelmChartRelease ------------------------------------------------------------------
# Rule: timeout_seconds within 60..3600.

DEMO_CHART = ChartRef(
    repository="https://charts.example.com", chart="demo", version="1.0.0", values_file=None
)


def helm_release(**changes: Any) -> HelmChartRelease:
    stack = new_stack()
    props = HelmChartReleaseProps(
        chart=DEMO_CHART,
        release_name="demo",
        namespace="demo",
        provider=HelmProvider(stack, "helm"),
    )
    return HelmChartRelease(stack, "release", props=replace(props, **changes))


@pytest.mark.parametrize("timeout", [60, 600, 3600])
def test_helm_release_timeout_within_bounds(timeout: int) -> None:
    release = only(synth(helm_release(timeout_seconds=timeout)), "helm_release")
    assert release["timeout"] == timeout
    assert (release["chart"], release["version"]) == ("demo", "1.0.0")


@pytest.mark.parametrize("timeout", [0, 59, 3601])
def test_helm_release_rejects_timeout(timeout: int) -> None:
    with rejects("timeout_seconds must be within 60..3600"):
        helm_release(timeout_seconds=timeout)


# --- IapBastion ------------------------------------------------------------------------
# Rule: at least one member may open the tunnel.


def bastion(**changes: Any) -> IapBastion:
    props = IapBastionProps(
        name="platform-bastion",
        project_id=PROJECT,
        zone="europe-west1-b",
        network_id="projects/example-project/global/networks/platform",
        subnet_id="projects/example-project/regions/europe-west1/subnetworks/platform",
        members=["group:platform-admins@example.com"],
    )
    return IapBastion(new_stack(), "bastion", props=replace(props, **changes))


def test_bastion_grants_the_tunnel_to_its_members() -> None:
    members = ["group:platform-admins@example.com", "user:oncall@example.com"]
    stack = synth(bastion(members=members))
    tunnel = resources(stack, "google_iap_tunnel_instance_iam_member").values()
    assert sorted(t["member"] for t in tunnel) == members
    assert {t["role"] for t in tunnel} == {"roles/iap.tunnelResourceAccessor"}


def test_bastion_rejects_no_members() -> None:
    with rejects("members is empty; nobody could open the tunnel"):
        bastion(members=[])


@pytest.mark.parametrize("member", ["alice@example.com", "user:", "allUsers"])
def test_bastion_rejects_what_is_not_an_iam_member(member: str) -> None:
    with rejects(f"not IAM members: {member}"):
        bastion(members=["group:platform-admins@example.com", member])


# --- IapIngress ------------------------------------------------------------------------
# Rules: at least one route; routes are exact host names; timeout and draining within
# Google's limits; a name for every load balancer object; a Certificate Manager map.

MLFLOW_ROUTE = RouteTarget(service="mlflow", namespace="mlflow", port=5000)
DOOR_NAMES = {part: f"door-{part}" for part in (*DOOR_PARTS, "firewall")}
CERTIFICATE_MAP = (
    "//certificatemanager.googleapis.com/projects/p/locations/global/certificateMaps/m"
)


def routing_release(stack: Json) -> Json:
    """The IapIngress release holding the gateway objects."""
    return next(r for r in resources(stack, "helm_release").values() if r["name"] == "iap-ingress")


def iap_ingress(**changes: Any) -> IapIngress:
    stack = new_stack()
    props = IapIngressProps(
        namespace="istio-ingress",
        gateway_selector={"istio": "gateway"},
        routes={"mlflow.example.com": MLFLOW_ROUTE},
        project_id=PROJECT,
        project_number="123456789",
        names=DOOR_NAMES,
        neg_name="platform-gateway",
        zones=["europe-west4-a", "europe-west4-b"],
        ip_address="203.0.113.10",
        certificate_map=CERTIFICATE_MAP,
        network="projects/p/global/networks/vpc",
        node_service_account="nodes@p.iam.gserviceaccount.com",
        helm_provider=HelmProvider(stack, "helm"),
        depends_on=[],
    )
    return IapIngress(stack, "ingress", props=replace(props, **changes))


def test_iap_ingress_routes_each_exact_host() -> None:
    stack = synth(iap_ingress())
    manifests = release_values(routing_release(stack))["manifests"]
    routes = [m for m in manifests if m["kind"] == "VirtualService"]
    assert [r["spec"]["hosts"] for r in routes] == [["mlflow.example.com"]]
    destination = routes[0]["spec"]["http"][0]["route"][0]["destination"]
    assert destination == {"host": "mlflow.mlflow.svc.cluster.local", "port": {"number": 5000}}
    gateway = next(m for m in manifests if m["kind"] == "Gateway")
    assert gateway["spec"]["servers"][0]["hosts"] == ["mlflow.example.com"]
    assert {m["kind"] for m in manifests} == {
        "Gateway",
        "VirtualService",
        "RequestAuthentication",
        "AuthorizationPolicy",
    }
    assert resources(stack, "kubernetes_ingress_v1") == {}


def test_iap_ingress_routes_a_wildcard_host_behind_the_same_checks() -> None:
    """`*.<host>` (JupyterHub's per-user hosts): its own VirtualService next to
    the exact host's, both on the Gateway; the JWT check and the DENY rules
    select the gateway's pods, not hosts, so they cover it as well."""
    hub = RouteTarget(service="proxy-public", namespace="jupyterhub", port=80)
    routes = {"jupyterhub.example.com": hub, "*.jupyterhub.example.com": hub}
    manifests = release_values(routing_release(synth(iap_ingress(routes=routes))))["manifests"]
    services = {
        m["metadata"]["name"]: m["spec"]["hosts"]
        for m in manifests
        if m["kind"] == "VirtualService"
    }
    assert services == {
        "jupyterhub-example-com": ["jupyterhub.example.com"],
        "wildcard-jupyterhub-example-com": ["*.jupyterhub.example.com"],
    }
    gateway = next(m for m in manifests if m["kind"] == "Gateway")
    assert gateway["spec"]["servers"][0]["hosts"] == sorted(routes)
    checks = {"RequestAuthentication", "AuthorizationPolicy"}
    for policy in (m for m in manifests if m["kind"] in checks):
        assert policy["spec"]["selector"] == {"matchLabels": {"istio": "gateway"}}
        assert "hosts" not in json.dumps(policy["spec"]), policy["metadata"]["name"]


def test_iap_ingress_is_a_terraform_owned_load_balancer() -> None:
    stack = synth(iap_ingress())
    backend = only(stack, "google_compute_backend_service")
    assert backend["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    assert backend["iap"] == {"enabled": True}  # no client: Google's managed OAuth client
    dynamic = backend["dynamic"]["backend"]
    assert "europe-west4-a" in dynamic["for_each"] and "europe-west4-b" in dynamic["for_each"]
    assert dynamic["content"]["group"] == neg_self_link(
        PROJECT, "${each.value}", "platform-gateway"
    )
    https = only(stack, "google_compute_target_https_proxy")
    assert https["certificate_map"] == CERTIFICATE_MAP
    assert "ssl_certificates" not in https
    rules = resources(stack, "google_compute_global_forwarding_rule").values()
    assert sorted((r["port_range"], r["ip_address"]) for r in rules) == [
        ("443", "203.0.113.10"),
        ("80", "203.0.113.10"),
    ]
    assert gateway_service_annotations("platform-gateway") == {
        "cloud.google.com/neg": '{"exposed_ports": {"80": {"name": "platform-gateway"}}}'
    }


@pytest.mark.parametrize(("timeout", "draining"), [(3600, 0), (7200, 60), (86400, 3600)])
def test_iap_ingress_backend_keeps_long_connections(timeout: int, draining: int) -> None:
    ingress = iap_ingress(backend_timeout_seconds=timeout, connection_draining_seconds=draining)
    backend = only(synth(ingress), "google_compute_backend_service")
    assert backend["timeout_sec"] == timeout
    assert backend["connection_draining_timeout_sec"] == draining


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"routes": {}}, "IapIngress: no routes", id="no-routes"),
        pytest.param(
            {"routes": {"mlflow.*.example.com": MLFLOW_ROUTE}},
            "routes take exact host names or *.<host name>",
            id="*-inside",
        ),
        pytest.param(
            {"routes": {"*mlflow.example.com": MLFLOW_ROUTE}},
            "routes take exact host names or *.<host name>",
            id="*-in-a-label",
        ),
        pytest.param(
            {"routes": {"example.com/mlflow": MLFLOW_ROUTE}}, "routes take exact host names", id="/"
        ),
        pytest.param(
            {"names": {"backend": "b"}},
            "IapIngress: no name for firewall, health-check",
            id="names",
        ),
        pytest.param(
            {"certificate_map": "projects/p/locations/global/certificateMaps/m"},
            "certificate_map takes //certificatemanager.googleapis.com/<id>",
            id="map-without-prefix",
        ),
        pytest.param(
            {"backend_timeout_seconds": 30},
            "backend_timeout_seconds must be within 3600..86400, got 30",
            id="timeout-google-default",
        ),
        pytest.param(
            {"backend_timeout_seconds": 86401},
            "backend_timeout_seconds must be within 3600..86400",
            id="timeout-above-a-day",
        ),
        pytest.param(
            {"connection_draining_seconds": -1},
            "connection_draining_seconds must be within 0..3600",
            id="draining-negative",
        ),
        pytest.param(
            {"connection_draining_seconds": 3601},
            "connection_draining_seconds must be within 0..3600",
            id="draining-above-an-hour",
        ),
        pytest.param(
            {"connection_draining_seconds": True},
            "connection_draining_seconds must be within 0..3600",
            id="draining-bool",
        ),
    ],
)
def test_iap_ingress_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        iap_ingress(**changes)


# --- IapWebAccess ----------------------------------------------------------------------
# Rules: at least one member; every member is an IAM member (type:id).

WEB_MEMBERS = [
    "domain:example.com",
    "group:ml-team@example.com",
    "serviceAccount:ci@example-project.iam.gserviceaccount.com",
    "user:alice@example.com",
]


def web_access(**changes: Any) -> IapWebAccess:
    props = IapWebAccessProps(project_id=PROJECT, members=WEB_MEMBERS)
    return IapWebAccess(new_stack(), "web-access", props=replace(props, **changes))


def test_web_access_grants_each_member_once() -> None:
    stack = synth(web_access(members=[*WEB_MEMBERS, WEB_MEMBERS[0]]))
    grants = resources(stack, "google_iap_web_iam_member").values()
    assert sorted(g["member"] for g in grants) == WEB_MEMBERS
    assert {(g["role"], g["project"]) for g in grants} == {(IAP_WEB_USER_ROLE, PROJECT)}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"members": []}, "no members; nobody could reach", id="no-members"),
        pytest.param(
            {"members": ["alice@example.com"]},
            "not IAM members: alice@example.com",
            id="bare-email",
        ),
        pytest.param({"members": ["allUsers"]}, "not IAM members: allUsers", id="allUsers"),
        pytest.param({"members": ["user:"]}, "not IAM members: user:", id="no-name"),
        pytest.param(
            {"members": ["user:a@example.com", "allAuthenticatedUsers"]},
            "not IAM members: allAuthenticatedUsers",
            id="allAuthenticatedUsers",
        ),
    ],
)
def test_web_access_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        web_access(**changes)


# --- IngressDns ------------------------------------------------------------------------
# Rule: ttl within 30..86400.


def ingress_dns(**changes: Any) -> IngressDns:
    props = IngressDnsProps(
        domain="mlops.example.com",
        ip_address="203.0.113.10",
        user_domain="jupyterhub.mlops.example.com",
        authorization_records=[
            DnsRecord(
                name="_acme-challenge_x.mlops.example.com.",
                type="CNAME",
                data="x.1.authorize.certificatemanager.goog.",
            )
        ],
        managed_zone="mlops-example-com",
    )
    return IngressDns(new_stack(), "dns", props=replace(props, **changes))


@pytest.mark.parametrize("ttl", [30, 300, 86400])
def test_ingress_dns_ttl_within_bounds(ttl: int) -> None:
    stack = synth(ingress_dns(ttl=ttl))
    records = resources(stack, "google_dns_record_set").values()
    assert sorted((r["name"], r["type"], r["ttl"]) for r in records) == [
        ("*.jupyterhub.mlops.example.com.", "CNAME", ttl),
        ("*.mlops.example.com.", "CNAME", ttl),
        ("_acme-challenge_x.mlops.example.com.", "CNAME", ttl),
        ("jupyterhub.mlops.example.com.", "CNAME", ttl),
        ("mlops.example.com.", "A", ttl),
    ]
    assert f"mlops.example.com. {ttl} IN A 203.0.113.10" in stack["output"]["dns_records"]["value"]


def test_ingress_dns_without_zone_lists_every_record() -> None:
    dns = ingress_dns(managed_zone=None)
    assert resources(synth(dns), "google_dns_record_set") == {}
    assert dns.records_to_create[-1] == (
        "_acme-challenge_x.mlops.example.com. 300 IN CNAME x.1.authorize.certificatemanager.goog."
    )
    assert len(dns.records_to_create) == 5


@pytest.mark.parametrize("ttl", [0, 29, 86401])
def test_ingress_dns_rejects_ttl(ttl: int) -> None:
    with rejects("ttl must be between 30 and 86400 seconds"):
        ingress_dns(ttl=ttl)


# --- ManagedSecret ---------------------------------------------------------------------
# Rules: a valid secret_id; at least one accessor; a non-empty value_shape.


def managed_secret(**changes: Any) -> ManagedSecret:
    props = ManagedSecretProps(
        secret_id="platform-oidc-client",
        project_id=PROJECT,
        region=REGION,
        accessors={
            "external-secrets": "serviceAccount:eso@example-project.iam.gserviceaccount.com"
        },
        value_shape={"clientID": "OAuth client id", "clientSecret": "OAuth client secret"},
        description="Argo CD's OIDC client",
    )
    return ManagedSecret(new_stack(), "secret", props=replace(props, **changes))


@pytest.mark.parametrize("secret_id", ["platform-oidc-client", "A_1", "s" * 255])
def test_secret_is_an_empty_container_read_by_its_accessors(secret_id: str) -> None:
    secret = managed_secret(secret_id=secret_id)
    stack = synth(secret)
    resource = only(stack, "google_secret_manager_secret")
    assert resource["secret_id"] == secret_id
    assert resource["replication"]["user_managed"]["replicas"] == [{"location": REGION}]
    assert resources(stack, "google_secret_manager_secret_version") == {}  # no value in state
    accessor = only(stack, "google_secret_manager_secret_iam_member")
    assert accessor["role"] == "roles/secretmanager.secretAccessor"
    assert accessor["member"] == "serviceAccount:eso@example-project.iam.gserviceaccount.com"
    assert '{"clientID": "OAuth client id"' in secret.fill_command


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"secret_id": "mlflow/db"}, "invalid secret_id 'mlflow/db'", id="slash"),
        pytest.param({"secret_id": ""}, "invalid secret_id ''", id="empty"),
        pytest.param({"secret_id": "s" * 256}, "invalid secret_id", id="too-long"),
        pytest.param({"accessors": {}}, "no accessor; nobody could read it", id="no-accessor"),
        pytest.param({"value_shape": {}}, "value_shape is empty", id="no-shape"),
    ],
)
def test_secret_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        managed_secret(**changes)


# --- ManifestBundle --------------------------------------------------------------------
# Rules: some manifests; each has apiVersion, kind and metadata.name; no object twice.


def config_map(name: str, namespace: str = "demo") -> Json:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"key": "value"},
    }


BUNDLE = [config_map("settings"), config_map("settings", namespace="other"), config_map("flags")]


def manifest_bundle(**changes: Any) -> ManifestBundle:
    stack = new_stack()
    props = ManifestBundleProps(
        release_name="demo-objects",
        namespace="demo",
        manifests=BUNDLE,
        provider=HelmProvider(stack, "helm"),
        depends_on=[],
    )
    return ManifestBundle(stack, "bundle", props=replace(props, **changes))


def test_bundle_installs_every_manifest_in_order() -> None:
    release = only(synth(manifest_bundle()), "helm_release")
    assert release["name"] == "demo-objects"
    assert release_values(release)["manifests"] == BUNDLE  # same name, other namespace: fine


def test_bundle_writes_into_namespaces_by_reference() -> None:
    """Each object's namespace becomes the namespace resource's name: a dependency."""
    stack = new_stack()
    namespaces = {
        name: NamespaceV1(stack, f"namespace-{name}", metadata={"name": name}).metadata.name
        for name in ("demo", "other")
    }
    cluster_scoped = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    bundle = ManifestBundle(
        stack,
        "bundle",
        props=ManifestBundleProps(
            release_name="demo-objects",
            namespace=namespaces["demo"],
            manifests=[*BUNDLE, cluster_scoped],
            provider=HelmProvider(stack, "helm"),
            depends_on=[],
            namespaces=namespaces,
        ),
    )
    manifests = release_values(only(synth(bundle), "helm_release"))["manifests"]
    assert [m["metadata"].get("namespace") for m in manifests] == [
        "${kubernetes_namespace_v1.namespace-demo.metadata[0].name}",
        "${kubernetes_namespace_v1.namespace-other.metadata[0].name}",
        "${kubernetes_namespace_v1.namespace-demo.metadata[0].name}",
        None,
    ]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"manifests": []}, "ManifestBundle demo-objects: no manifests", id="empty"),
        pytest.param(
            {"manifests": [{**config_map("a"), "apiVersion": ""}]},
            "every manifest needs apiVersion, kind and metadata.name",
            id="no-apiVersion",
        ),
        pytest.param(
            {"manifests": [{k: v for k, v in config_map("a").items() if k != "kind"}]},
            "every manifest needs apiVersion, kind and metadata.name",
            id="no-kind",
        ),
        pytest.param(
            {"manifests": [{**config_map("a"), "metadata": {"namespace": "demo"}}]},
            "every manifest needs apiVersion, kind and metadata.name",
            id="no-name",
        ),
        pytest.param(
            {"manifests": [*BUNDLE, config_map("flags")]},
            "duplicate object ('ConfigMap', 'demo', 'flags')",
            id="duplicate",
        ),
        pytest.param(
            {"namespaces": {"demo": "${kubernetes_namespace_v1.demo.metadata[0].name}"}},
            "ConfigMap settings is in namespace 'other', which no resource of the stack creates",
            id="namespace-without-resource",
        ),
    ],
)
def test_bundle_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        manifest_bundle(**changes)


# --- MlflowStorage ---------------------------------------------------------------------
# Rules: disk_size_gb >= 10; bucket_name is a GCS bucket name (3-63 characters).


def mlflow_storage(**changes: Any) -> MlflowStorage:
    props = MlflowStorageProps(
        name="dev-mlflow",
        bucket_name="example-project-dev-mlflow-artifacts",
        project_id=PROJECT,
        region=REGION,
        private_network_id="projects/example-project/global/networks/platform",
        kubernetes_service_account=KubernetesServiceAccountRef(namespace="mlflow", name="mlflow"),
    )
    return MlflowStorage(new_stack(), "mlflow", props=replace(props, **changes))


@pytest.mark.parametrize(
    "bucket_name",
    ["example-project-dev-mlflow-artifacts", "abc", "b" * 63, "team_a.mlflow-1"],
)
def test_mlflow_bucket_is_the_given_name(bucket_name: str) -> None:
    stack = synth(mlflow_storage(bucket_name=bucket_name))
    bucket = only(stack, "google_storage_bucket")
    assert bucket["name"] == bucket_name
    assert bucket["public_access_prevention"] == "enforced"


@pytest.mark.parametrize("disk_size_gb", [10, 20])
def test_mlflow_database_disk_is_at_least_10_gb(disk_size_gb: int) -> None:
    stack = synth(mlflow_storage(disk_size_gb=disk_size_gb))
    settings = only(stack, "google_sql_database_instance")["settings"]
    assert settings["disk_size"] == disk_size_gb
    assert settings["ip_configuration"]["ipv4_enabled"] is False


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"disk_size_gb": 9}, "disk_size_gb must be at least 10", id="disk-9"),
        pytest.param({"disk_size_gb": 0}, "disk_size_gb must be at least 10", id="disk-0"),
        pytest.param(
            {"noncurrent_artifact_retention_days": 0},
            "noncurrent_artifact_retention_days must be >= 1 or None, got 0",
            id="retention-0",
        ),
        *[
            pytest.param(
                {"bucket_name": name}, f"bucket_name {name!r} is not a GCS bucket name", id=why
            )
            for why, name in [
                ("too-short", "ab"),
                ("too-long", "b" * 64),
                ("uppercase", "Example-Artifacts"),
                ("leading-hyphen", "-artifacts"),
                ("trailing-hyphen", "artifacts-"),
                ("space", "mlflow artifacts"),
                ("empty", ""),
            ]
        ],
    ],
)
def test_mlflow_storage_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        mlflow_storage(**changes)


# --- PrivateGkeCluster -----------------------------------------------------------------
# Rules: at least one node pool; unique pool names; bastion mode has a bastion;
# dns mode has none.

GENERAL_POOL = NodePoolSpec(name="general", machine_type="e2-standard-4", min_nodes=1, max_nodes=3)
GPU_POOL = NodePoolSpec(
    name="gpu", machine_type="g2-standard-8", min_nodes=0, max_nodes=2, gpu_type="nvidia-l4"
)
BASTION = BastionSpec(
    zone="europe-west1-b", machine_type="e2-micro", members=["group:ops@example.com"]
)


def gke_cluster(**changes: Any) -> PrivateGkeCluster:
    props = PrivateGkeClusterProps(
        name="platform",
        project_id=PROJECT,
        location=REGION,
        network_id="projects/example-project/global/networks/platform",
        subnet_id="projects/example-project/regions/europe-west1/subnetworks/platform",
        subnet_cidr="10.10.0.0/20",
        pods_range_name="pods",
        services_range_name="services",
        node_pools=[GENERAL_POOL, GPU_POOL],
    )
    return PrivateGkeCluster(new_stack(), "gke", props=replace(props, **changes))


def test_gke_dns_mode_has_distinct_pools_and_no_bastion() -> None:
    stack = synth(gke_cluster())
    pools = resources(stack, "google_container_node_pool").values()
    assert sorted(p["name"] for p in pools) == ["general", "gpu"]
    endpoints = only(stack, "google_container_cluster")["control_plane_endpoints_config"]
    assert endpoints["dns_endpoint_config"]["allow_external_traffic"] is True
    assert resources(stack, "google_compute_instance") == {}


def test_gke_bastion_mode_has_a_bastion_and_no_external_dns_endpoint() -> None:
    stack = synth(gke_cluster(control_plane_access="bastion", bastion=BASTION))
    endpoints = only(stack, "google_container_cluster")["control_plane_endpoints_config"]
    assert endpoints["dns_endpoint_config"]["allow_external_traffic"] is False
    assert only(stack, "google_compute_instance")["name"] == "platform-bastion"
    assert len(resources(stack, "google_container_node_pool")) == 2


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"node_pools": []}, "needs at least one node pool", id="no-pools"),
        pytest.param(
            {"node_pools": [GENERAL_POOL, replace(GPU_POOL, name="general")]},
            "node pool names must be unique, got ['general', 'general']",
            id="duplicate-pool",
        ),
        pytest.param(
            {"control_plane_access": "bastion"},
            "control_plane_access=bastion needs a bastion",
            id="bastion-mode-without-bastion",
        ),
        pytest.param(
            {"bastion": BASTION},
            "a bastion is only used with control_plane_access=bastion",
            id="dns-mode-with-bastion",
        ),
    ],
)
def test_gke_cluster_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        gke_cluster(**changes)


# --- PrivateServicesAccess -------------------------------------------------------------
# Rule: the peered range is at least a /24.


def services_access(**changes: Any) -> PrivateServicesAccess:
    props = PrivateServicesAccessProps(
        name="google-services",
        network_id="projects/example-project/global/networks/platform",
        cidr="10.30.0.0/16",
    )
    return PrivateServicesAccess(new_stack(), "psa", props=replace(props, **changes))


@pytest.mark.parametrize(
    ("cidr", "address", "prefix"),
    [("10.30.0.0/16", "10.30.0.0", 16), ("10.30.5.0/24", "10.30.5.0", 24)],
)
def test_services_access_reserves_the_range(cidr: str, address: str, prefix: int) -> None:
    stack = synth(services_access(cidr=cidr))
    reserved = only(stack, "google_compute_global_address")
    assert (reserved["address"], reserved["prefix_length"]) == (address, prefix)
    assert reserved["purpose"] == "VPC_PEERING"


@pytest.mark.parametrize("cidr", ["10.30.0.0/25", "10.30.0.0/28"])
def test_services_access_rejects_a_range_smaller_than_24(cidr: str) -> None:
    with rejects(f"{cidr} is smaller than a /24"):
        services_access(cidr=cidr)


@pytest.mark.parametrize("cidr", ["8.8.0.0/16", "34.64.0.0/20"])
def test_services_access_rejects_a_public_range(cidr: str) -> None:
    with rejects(f"{cidr} is not a private range"):
        services_access(cidr=cidr)


# --- PrivateVpc ------------------------------------------------------------------------
# Rules: subnet, pods and services ranges do not overlap; flow_log_sampling in (0, 1].


def private_vpc(**changes: Any) -> PrivateVpc:
    props = PrivateVpcProps(
        name="platform",
        region=REGION,
        subnet_cidr="10.10.0.0/20",
        pods_cidr="10.20.0.0/14",
        services_cidr="10.24.0.0/20",
    )
    return PrivateVpc(new_stack(), "vpc", props=replace(props, **changes))


@pytest.mark.parametrize("sampling", [0.01, 0.5, 1.0])
def test_vpc_has_disjoint_ranges_and_logs_flows(sampling: float) -> None:
    subnet = only(synth(private_vpc(flow_log_sampling=sampling)), "google_compute_subnetwork")
    assert subnet["ip_cidr_range"] == "10.10.0.0/20"
    assert [(r["range_name"], r["ip_cidr_range"]) for r in subnet["secondary_ip_range"]] == [
        ("pods", "10.20.0.0/14"),
        ("services", "10.24.0.0/20"),
    ]
    assert subnet["log_config"]["flow_sampling"] == sampling


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param(
            {"pods_cidr": "10.10.8.0/21"}, "10.10.0.0/20 overlaps 10.10.8.0/21", id="subnet-pods"
        ),
        pytest.param(
            {"services_cidr": "10.0.0.0/8"},
            "10.10.0.0/20 overlaps 10.0.0.0/8",
            id="subnet-services",
        ),
        pytest.param(
            {"services_cidr": "10.21.0.0/20"},
            "10.20.0.0/14 overlaps 10.21.0.0/20",
            id="pods-services",
        ),
        pytest.param({"flow_log_sampling": 0.0}, "flow_log_sampling must be in (0, 1]", id="0"),
        pytest.param({"flow_log_sampling": 1.5}, "flow_log_sampling must be in (0, 1]", id="1.5"),
        pytest.param({"flow_log_sampling": -0.5}, "flow_log_sampling must be in (0, 1]", id="neg"),
    ],
)
def test_vpc_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        private_vpc(**changes)


# --- ProjectServices -------------------------------------------------------------------
# Rule: every API is a Google API name. (Takes `apis`, not a props dataclass.)


def test_project_services_enables_each_api_and_keeps_it_on_destroy() -> None:
    services = ProjectServices(new_stack(), "apis")
    enabled = resources(synth(services), "google_project_service").values()
    assert sorted(s["service"] for s in enabled) == sorted(PLATFORM_APIS)
    assert {s["disable_on_destroy"] for s in enabled} == {False}


@pytest.mark.parametrize(
    ("apis", "match"),
    [
        pytest.param(["compute"], "not a Google API name: compute", id="short-name"),
        pytest.param(
            ["compute.googleapis.com", "api.example.com"],
            "not a Google API name: api.example.com",
            id="foreign",
        ),
    ],
)
def test_project_services_rejects(apis: list[str], match: str) -> None:
    with rejects(match):
        ProjectServices(new_stack(), "apis", apis=apis)


# --- ServiceIdentity -------------------------------------------------------------------
# Rules: account_id is 6-30 lowercase letters, digits, hyphens, from a letter;
# no basic roles (owner, editor, viewer).


def service_identity(**changes: Any) -> ServiceIdentity:
    props = ServiceIdentityProps(
        project_id=PROJECT,
        account_id="mlflow-tracking",
        display_name="MLflow",
        project_roles=("roles/cloudsql.client", "roles/logging.logWriter"),
    )
    return ServiceIdentity(new_stack(), "identity", props=replace(props, **changes))


@pytest.mark.parametrize("account_id", ["mlflow-tracking", "abcdef", "a" * 29 + "1"])
def test_service_identity_has_its_own_account_and_narrow_roles(account_id: str) -> None:
    stack = synth(service_identity(account_id=account_id))
    assert only(stack, "google_service_account")["account_id"] == account_id
    grants = resources(stack, "google_project_iam_member").values()
    assert sorted(g["role"] for g in grants) == ["roles/cloudsql.client", "roles/logging.logWriter"]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        *[
            pytest.param(
                {"account_id": account_id}, f"account_id {account_id!r} must be 6-30", id=why
            )
            for why, account_id in [
                ("too-short", "abcde"),
                ("too-long", "a" * 31),
                ("leading-digit", "1abcdef"),
                ("trailing-hyphen", "abcdef-"),
                ("uppercase", "Abcdef"),
                ("underscore", "abc_def"),
            ]
        ],
        *[
            pytest.param(
                {"project_roles": ("roles/logging.logWriter", role)},
                f"basic roles are not allowed: {role}",
                id=role,
            )
            for role in ("roles/owner", "roles/editor", "roles/viewer")
        ],
    ],
)
def test_service_identity_rejects(changes: Changes, match: str) -> None:
    with rejects(match):
        service_identity(**changes)


# --- WildcardCertificates --------------------------------------------------------------
# Rules: domains without wildcards; the user domain under the domain; every name given.

CERT_NAMES = {
    key: f"door-{key}" if key else "door" for key in ("", "apex", "jupyterhub", "platform", "users")
}


def wildcard_certificates(**changes: Any) -> WildcardCertificates:
    props = WildcardCertificatesProps(
        domain="mlops.example.com", user_domain="jupyterhub.mlops.example.com", names=CERT_NAMES
    )
    return WildcardCertificates(new_stack(), "certificates", props=replace(props, **changes))


def test_wildcard_certificates_with_dns_authorization_on_a_map() -> None:
    certs = wildcard_certificates()
    stack = synth(certs)
    auths = resources(stack, "google_certificate_manager_dns_authorization").values()
    assert sorted((a["domain"], a["type"]) for a in auths) == [
        ("jupyterhub.mlops.example.com", "PER_PROJECT_RECORD"),
        ("mlops.example.com", "PER_PROJECT_RECORD"),
    ]
    managed = sorted(
        c["managed"]["domains"]
        for c in resources(stack, "google_certificate_manager_certificate").values()
    )
    assert managed == [
        ["*.jupyterhub.mlops.example.com"],
        ["mlops.example.com", "*.mlops.example.com"],
    ]
    for cert in resources(stack, "google_certificate_manager_certificate").values():
        assert len(cert["managed"]["dns_authorizations"]) == 1
        assert "issuance_config" not in cert["managed"]
    entries = resources(stack, "google_certificate_manager_certificate_map_entry").values()
    assert sorted(e.get("hostname") or e["matcher"] for e in entries) == [
        "*.jupyterhub.mlops.example.com",
        "*.mlops.example.com",
        "PRIMARY",
        "mlops.example.com",
    ]
    assert certs.map_reference.startswith("//certificatemanager.googleapis.com/${")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        pytest.param({"domain": "*.example.com"}, "without wildcards", id="wildcard"),
        pytest.param({"user_domain": "jupyterhub.other.com"}, "is not under", id="elsewhere"),
        pytest.param({"names": {"": "door"}}, "names missing for", id="names"),
    ],
)
def test_wildcard_certificates_reject(changes: Changes, match: str) -> None:
    with rejects(match):
        wildcard_certificates(**changes)


# --- ClusterFacts (the in-cluster registration's labels and annotations) ---


def test_cluster_facts_refuse_non_label_values_in_labels() -> None:
    with pytest.raises(ValueError, match="put it in annotations"):
        ClusterFacts(labels={"domain": "a" * 64})
    with pytest.raises(ValueError, match="put it in annotations"):
        ClusterFacts(labels={"sa": "x@example.com"})
    with pytest.raises(ValueError, match="not a fact key"):
        ClusterFacts(labels={}, annotations={"host-x": "y"})
