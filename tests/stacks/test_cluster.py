"""cluster stack: snapshot plus every security setting, in both access modes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.stacks import only, resources
from tests.support.synth import Synthesized

BOTH = ["example", "bastion"]


def cluster(synthesized: Synthesized, variant: str) -> dict[str, Any]:
    return only(synthesized.stack(variant, "cluster"), "google_container_cluster")


def test_snapshot(synthesized: Synthesized, snapshot_json: Any) -> None:
    assert synthesized.stack("example", "cluster") == snapshot_json


def test_snapshot_bastion(synthesized: Synthesized, snapshot_json: Any) -> None:
    assert synthesized.stack("bastion", "cluster") == snapshot_json


@pytest.mark.parametrize("variant", BOTH)
def test_private_hardened_cluster(synthesized: Synthesized, variant: str) -> None:
    gke = cluster(synthesized, variant)
    assert gke["private_cluster_config"]["enable_private_nodes"] is True
    assert gke["private_cluster_config"]["enable_private_endpoint"] is True
    assert "master_ipv4_cidr_block" not in gke["private_cluster_config"]  # PSC, not peering
    assert gke["workload_identity_config"] == {"workload_pool": "example-mlops-project.svc.id.goog"}
    assert gke["datapath_provider"] == "ADVANCED_DATAPATH"
    assert gke["network_policy"] == {"enabled": False}
    assert gke["enable_shielded_nodes"] is True
    assert gke["binary_authorization"] == {"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
    assert gke["release_channel"] == {"channel": "REGULAR"}
    assert gke["master_auth"]["client_certificate_config"]["issue_client_certificate"] is False
    assert gke["enable_legacy_abac"] is False
    assert gke["enable_intranode_visibility"] is True
    assert set(gke["logging_config"]["enable_components"]) >= {"SYSTEM_COMPONENTS", "WORKLOADS"}
    assert gke["monitoring_config"]["managed_prometheus"] == {"enabled": True}
    assert gke["resource_labels"]["environment"] == variant
    assert gke["deletion_protection"] is True
    assert gke["remove_default_node_pool"] is True
    assert "node_pool" not in gke  # pools are separate resources
    networks = gke["master_authorized_networks_config"]
    assert networks["gcp_public_cidrs_access_enabled"] is False
    assert [b["cidr_block"] for b in networks["cidr_blocks"]] == ["10.10.0.0/20"]


def test_dns_mode_uses_the_iam_checked_dns_endpoint(synthesized: Synthesized) -> None:
    endpoints = cluster(synthesized, "example")["control_plane_endpoints_config"]
    assert endpoints["dns_endpoint_config"]["allow_external_traffic"] is True
    stack = synthesized.stack("example", "cluster")
    assert resources(stack, "google_compute_instance") == {}
    assert "--dns-endpoint" in stack["output"]["get_credentials_command"]["value"]
    assert "tunnel_command" not in stack["output"]


def test_bastion_mode_private_endpoint_and_bastion(synthesized: Synthesized) -> None:
    stack = synthesized.stack("bastion", "cluster")
    endpoints = cluster(synthesized, "bastion")["control_plane_endpoints_config"]
    assert endpoints["dns_endpoint_config"]["allow_external_traffic"] is False
    vm = only(stack, "google_compute_instance")
    assert vm["machine_type"] == "e2-micro"
    assert all("access_config" not in nic for nic in vm["network_interface"])
    assert vm["shielded_instance_config"] == {
        "enable_integrity_monitoring": True,
        "enable_secure_boot": True,
        "enable_vtpm": True,
    }
    assert vm["metadata"]["enable-oslogin"] == "TRUE"
    assert "tinyproxy" in vm["metadata_startup_script"]
    assert "Listen 127.0.0.1" in vm["metadata_startup_script"]
    tunnel = resources(stack, "google_iap_tunnel_instance_iam_member")
    assert {t["member"] for t in tunnel.values()} == {"group:platform-admins@example.com"}
    assert {t["role"] for t in tunnel.values()} == {"roles/iap.tunnelResourceAccessor"}
    command = stack["output"]["tunnel_command"]["value"]
    assert "--tunnel-through-iap" in command and "8888:localhost:8888" in command
    assert "--internal-ip" in stack["output"]["get_credentials_command"]["value"]


@pytest.mark.parametrize("variant", BOTH)
def test_node_pools_hardened_on_dedicated_service_account(
    synthesized: Synthesized, variant: str
) -> None:
    stack = synthesized.stack(variant, "cluster")
    pools = resources(stack, "google_container_node_pool")
    assert pools
    node_sa = [
        sa
        for sa in resources(stack, "google_service_account").values()
        if sa["account_id"].endswith("-nodes")
    ]
    assert len(node_sa) == 1
    for pool in pools.values():
        config = pool["node_config"]
        assert config["image_type"] == "COS_CONTAINERD"
        assert config["shielded_instance_config"] == {
            "enable_integrity_monitoring": True,
            "enable_secure_boot": True,
        }
        assert config["workload_metadata_config"] == {"mode": "GKE_METADATA"}
        assert "google_service_account.gke_node-identity_account" in config["service_account"]
        assert pool["management"] == {"auto_repair": True, "auto_upgrade": True}
        assert pool["autoscaling"]["min_node_count"] <= pool["autoscaling"]["max_node_count"]
    roles = {
        m["role"]
        for m in resources(stack, "google_project_iam_member").values()
        if "node-identity" in m["member"]
    }
    assert roles == {"roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader"}


def test_gpu_pool_spot_and_tainted(synthesized: Synthesized) -> None:
    pools = resources(synthesized.stack("bastion", "cluster"), "google_container_node_pool")
    gpu = next(p for p in pools.values() if p["name"] == "gpu")
    assert gpu["node_config"]["spot"] is True
    assert gpu["node_config"]["guest_accelerator"][0]["type"] == "nvidia-l4"
    assert gpu["node_config"]["taint"][0]["key"] == "nvidia.com/gpu"


def test_gpu_pool_in_its_zones_and_empty_until_used(synthesized: Synthesized) -> None:
    """The bastion variant's GPU pool names two zones and leaves min_nodes unset."""
    pools = resources(synthesized.stack("bastion", "cluster"), "google_container_node_pool")
    by_name = {p["name"]: p for p in pools.values()}
    gpu = by_name["gpu"]
    assert gpu["node_locations"] == ["europe-west4-a", "europe-west4-c"]
    assert gpu["autoscaling"] == {"min_node_count": 0, "max_node_count": 2}  # per zone
    assert gpu["initial_node_count"] == 0
    # A CPU pool without zones keeps its default minimum in every zone of the region.
    assert "node_locations" not in by_name["general"]
    assert by_name["general"]["autoscaling"]["min_node_count"] == 1


@pytest.mark.parametrize("variant", BOTH)
def test_control_plane_reaches_webhooks(synthesized: Synthesized, variant: str) -> None:
    rules = resources(synthesized.stack(variant, "cluster"), "google_compute_firewall")
    webhook = next(r for r in rules.values() if r["name"].endswith("allow-control-plane-webhooks"))
    assert webhook["allow"] == [{"protocol": "tcp", "ports": ["10250", "15017"]}]
    assert webhook["source_ranges"][0].endswith("private_endpoint}/32")


@pytest.mark.parametrize("variant", BOTH)
def test_iam_is_additive_and_never_basic(synthesized: Synthesized, variant: str) -> None:
    """No authoritative binding/policy and no owner/editor/viewer anywhere."""
    for stack_name in synthesized.stacks(variant):
        stack = synthesized.stack(variant, stack_name)
        for kind, items in stack.get("resource", {}).items():
            assert not kind.endswith(("_iam_binding", "_iam_policy")), kind
            for name, body in items.items():
                if kind.endswith("_iam_member"):
                    assert body["role"] not in {"roles/owner", "roles/editor", "roles/viewer"}, name


def test_iap_access_per_member(synthesized: Synthesized) -> None:
    grants = resources(synthesized.stack("example", "cluster"), "google_iap_web_iam_member")
    assert [(g["role"], g["member"]) for g in grants.values()] == [
        ("roles/iap.httpsResourceAccessor", "group:ml-team@example.com")
    ]
    stack = json.dumps(synthesized.stack("example", "cluster"))
    assert "google_iap_brand" not in stack and "google_iap_client" not in stack


@pytest.mark.parametrize("variant", BOTH)
def test_secrets_are_containers_only(synthesized: Synthesized, variant: str) -> None:
    stack = synthesized.stack(variant, "cluster")
    assert resources(stack, "google_secret_manager_secret_version") == {}
    secrets = resources(stack, "google_secret_manager_secret")
    accessors = resources(stack, "google_secret_manager_secret_iam_member")
    assert len(accessors) == len(secrets) > 0
    for grant in accessors.values():
        assert grant["role"] == "roles/secretmanager.secretAccessor"
        assert "external-secrets-identity" in grant["member"]
    commands = stack["output"]["secrets_to_fill"]["value"]
    assert all(c.startswith("gcloud secrets versions add ") for c in commands.values())


def test_secrets_follow_config(synthesized: Synthesized) -> None:
    example = synthesized.stack("example", "cluster")["output"]["secrets_to_fill"]["value"]
    assert set(example) == {"repo-credentials"}  # SSH GitOps repo, IAP sign-in
    assert "sshPrivateKey" in example["repo-credentials"]
    bastion = synthesized.stack("bastion", "cluster")["output"]["secrets_to_fill"]["value"]
    assert set(bastion) == {"oidc-client"}  # public https repo, Google OIDC sign-in


def test_external_secrets_workload_identity(synthesized: Synthesized) -> None:
    bindings = resources(
        synthesized.stack("example", "cluster"), "google_service_account_iam_member"
    )
    members = {
        b["member"] for b in bindings.values() if b["role"] == "roles/iam.workloadIdentityUser"
    }
    assert (
        "serviceAccount:example-mlops-project.svc.id.goog[external-secrets/external-secrets]"
        in members
    )
    assert "serviceAccount:example-mlops-project.svc.id.goog[mlflow/mlflow]" in members


@pytest.mark.parametrize("variant", BOTH)
def test_no_certificate_in_the_cluster_stack(synthesized: Synthesized, variant: str) -> None:
    """Certificates live with the Ingress that lists them (bootstrap), one per host."""
    stack = synthesized.stack(variant, "cluster")
    assert resources(stack, "google_compute_managed_ssl_certificate") == {}
    assert "certificate_name" not in stack["output"]


def test_mlflow_storage(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "cluster")
    bucket = only(stack, "google_storage_bucket")
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True}
    sql = only(stack, "google_sql_database_instance")
    assert sql["deletion_protection"] is True
    ip = sql["settings"]["ip_configuration"]
    assert ip["ipv4_enabled"] is False and "private_network" in ip
    assert ip["ssl_mode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert sql["settings"]["backup_configuration"]["enabled"] is True
    flags = {f["name"]: f["value"] for f in sql["settings"]["database_flags"]}
    assert flags["cloudsql.iam_authentication"] == "on"
    user = only(stack, "google_sql_user")
    assert user["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    assert "password" not in user
    assert resources(synthesized.stack("bastion", "cluster"), "google_sql_database_instance") == {}


@pytest.mark.parametrize("variant", BOTH)
def test_no_secret_material_in_any_stack(synthesized: Synthesized, variant: str) -> None:
    for stack_name in synthesized.stacks(variant):
        text = synthesized.stack_file(variant, stack_name).read_text()
        for marker in (
            "BEGIN PRIVATE KEY",
            "BEGIN OPENSSH PRIVATE KEY",
            'private_key"',
            "root_password",
        ):
            assert marker not in text, (stack_name, marker)
        for kind, items in synthesized.stack(variant, stack_name).get("resource", {}).items():
            for body in items.values():
                assert "password" not in body, kind
                assert "secret_data" not in body, kind


def test_next_step_output_on_every_stack(synthesized: Synthesized) -> None:
    for stack_name in synthesized.stacks("example"):
        assert synthesized.stack("example", stack_name)["output"]["next_step"]["value"]
