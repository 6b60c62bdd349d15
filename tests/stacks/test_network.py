"""network stack: snapshot plus the properties that matter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stacks import only, resources
from tests.support.synth import Synthesized


def test_snapshot(synthesized: Synthesized, snapshot_json: Any) -> None:
    assert synthesized.stack("example", "network") == snapshot_json


@pytest.mark.parametrize("variant", ["example", "bastion"])
def test_state_in_gcs_under_environment_prefix(synthesized: Synthesized, variant: str) -> None:
    for stack in synthesized.stacks(variant):
        backend = synthesized.stack(variant, stack)["terraform"]["backend"]
        assert backend == {
            "gcs": {"bucket": "example-mlops-tfstate", "prefix": f"{variant}/{stack}"}
        }


def test_custom_mode_vpc_with_private_google_access(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "network")
    assert only(stack, "google_compute_network")["auto_create_subnetworks"] is False
    subnet = only(stack, "google_compute_subnetwork")
    assert subnet["private_ip_google_access"] is True
    assert subnet["ip_cidr_range"] == "10.10.0.0/20"
    assert {r["range_name"]: r["ip_cidr_range"] for r in subnet["secondary_ip_range"]} == {
        "pods": "10.16.0.0/14",
        "services": "10.20.0.0/20",
    }
    assert subnet["log_config"]["flow_sampling"] > 0


def test_nat_for_all_subnet_ranges_with_error_logging(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "network")
    nat = only(stack, "google_compute_router_nat")
    assert nat["log_config"] == {"enable": True, "filter": "ERRORS_ONLY"}
    assert nat["subnetwork"][0]["source_ip_ranges_to_nat"] == ["ALL_IP_RANGES"]


@pytest.mark.parametrize("variant", ["example", "bastion"])
def test_nothing_open_to_the_internet(synthesized: Synthesized, variant: str) -> None:
    """No firewall rule in any stack allows traffic from the internet.

    The only public-source allow rule permitted is IAP's TCP forwarding range
    (35.235.240.0/20) to port 22 of the bastion, and only in bastion mode.
    """
    iap_rules = []
    for stack_name in synthesized.stacks(variant):
        for name, rule in resources(
            synthesized.stack(variant, stack_name), "google_compute_firewall"
        ).items():
            if rule.get("direction", "INGRESS") != "INGRESS" or "allow" not in rule:
                continue
            sources = rule.get("source_ranges", [])
            assert "0.0.0.0/0" not in sources, name
            if "35.235.240.0/20" in sources:
                iap_rules.append(rule)
                assert sources == ["35.235.240.0/20"]
                assert rule["allow"] == [{"protocol": "tcp", "ports": ["22"]}]
                assert rule["target_service_accounts"], "IAP rule must target the bastion's SA"
    assert len(iap_rules) == (1 if variant == "bastion" else 0)


def test_explicit_deny_all_ingress(synthesized: Synthesized) -> None:
    rule = only(synthesized.stack("example", "network"), "google_compute_firewall")
    assert rule["deny"] == [{"protocol": "all"}]
    assert rule["source_ranges"] == ["0.0.0.0/0"]


def test_required_apis_never_disabled_on_destroy(synthesized: Synthesized) -> None:
    services = resources(synthesized.stack("example", "network"), "google_project_service")
    names = {s["service"] for s in services.values()}
    assert {
        "compute.googleapis.com",
        "container.googleapis.com",
        "iap.googleapis.com",
        "secretmanager.googleapis.com",
    } <= names
    assert all(s["disable_on_destroy"] is False for s in services.values())


def test_dns_records_printed_without_managed_zone(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "network")
    assert resources(stack, "google_dns_record_set") == {}
    records = stack["output"]["dns_records"]["value"]
    assert records[0].startswith("mlops.example.com. 300 IN A ${")
    assert records[1] == "*.mlops.example.com. 300 IN CNAME mlops.example.com."


def test_dns_records_created_with_managed_zone(synthesized: Synthesized) -> None:
    records = resources(synthesized.stack("bastion", "network"), "google_dns_record_set")
    by_type = {r["type"]: r for r in records.values()}
    assert by_type["A"]["name"] == "mlops.example.com."
    assert by_type["CNAME"]["name"] == "*.mlops.example.com."
    assert by_type["CNAME"]["rrdatas"] == ["mlops.example.com."]


def test_private_services_access_only_when_cloud_sql_is_used(synthesized: Synthesized) -> None:
    assert resources(
        synthesized.stack("example", "network"), "google_service_networking_connection"
    )
    assert not resources(
        synthesized.stack("bastion", "network"), "google_service_networking_connection"
    )


def test_static_ingress_ip_is_global(synthesized: Synthesized) -> None:
    addresses = resources(synthesized.stack("example", "network"), "google_compute_global_address")
    ingress = [a for a in addresses.values() if a["name"] == "mlops-example-ingress"]
    assert len(ingress) == 1
    assert "purpose" not in ingress[0]
    assert "address_type" not in ingress[0]  # EXTERNAL by default: the LB's address
