"""PrivateVpc: custom-mode VPC, one private subnet, Cloud NAT, no inbound."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_google.compute_firewall import ComputeFirewall, ComputeFirewallDeny
from cdktf_cdktf_provider_google.compute_network import ComputeNetwork
from cdktf_cdktf_provider_google.compute_router import ComputeRouter
from cdktf_cdktf_provider_google.compute_router_nat import (
    ComputeRouterNat,
    ComputeRouterNatSubnetwork,
)
from cdktf_cdktf_provider_google.compute_subnetwork import (
    ComputeSubnetwork,
    ComputeSubnetworkSecondaryIpRange,
)
from constructs import Construct

#: Names of the subnet's secondary ranges; GKE's ip_allocation_policy uses them.
PODS_RANGE_NAME = "pods"
SERVICES_RANGE_NAME = "services"


@dataclass(frozen=True, kw_only=True)
class PrivateVpcProps:
    name: str
    """Prefix of every resource name (network, subnet, router, NAT)."""
    region: str
    subnet_cidr: str
    pods_cidr: str
    services_cidr: str
    flow_log_sampling: float = 0.5
    """Share of flows logged (0-1]. Default: half, enough to debug, half the cost."""
    depends_on: Sequence[ITerraformDependable] = ()
    """Usually the compute API's google_project_service."""


class PrivateVpc(Construct):
    """A VPC in which nothing has a public IP and nothing is open inbound.

    Nodes reach the internet (image pulls, chart repos) through Cloud NAT and
    Google APIs through private Google access. The only inbound path to the
    platform is the Google load balancer, which GKE wires up itself.
    """

    def __init__(self, scope: Construct, id_: str, *, props: PrivateVpcProps) -> None:
        super().__init__(scope, id_)
        ranges = [IPv4Network(c) for c in (props.subnet_cidr, props.pods_cidr, props.services_cidr)]
        for i, first in enumerate(ranges):
            for second in ranges[i + 1 :]:
                if first.overlaps(second):
                    raise ValueError(f"PrivateVpc: {first} overlaps {second}")
        if not 0 < props.flow_log_sampling <= 1:
            raise ValueError("PrivateVpc: flow_log_sampling must be in (0, 1]")
        depends_on = list(props.depends_on)

        self.network = ComputeNetwork(
            self,
            "network",
            name=props.name,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            depends_on=depends_on,
        )
        self.subnet = ComputeSubnetwork(
            self,
            "subnet",
            name=f"{props.name}-{props.region}",
            network=self.network.id,
            region=props.region,
            ip_cidr_range=props.subnet_cidr,
            private_ip_google_access=True,
            secondary_ip_range=[
                ComputeSubnetworkSecondaryIpRange(
                    range_name=PODS_RANGE_NAME, ip_cidr_range=props.pods_cidr
                ),
                ComputeSubnetworkSecondaryIpRange(
                    range_name=SERVICES_RANGE_NAME, ip_cidr_range=props.services_cidr
                ),
            ],
            log_config={
                "aggregation_interval": "INTERVAL_5_SEC",
                "flow_sampling": props.flow_log_sampling,
                "metadata": "INCLUDE_ALL_METADATA",
            },
        )
        self.router = ComputeRouter(
            self,
            "router",
            name=f"{props.name}-router",
            network=self.network.id,
            region=props.region,
        )
        self.nat = ComputeRouterNat(
            self,
            "nat",
            name=f"{props.name}-nat",
            router=self.router.name,
            region=props.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetwork=[
                ComputeRouterNatSubnetwork(
                    name=self.subnet.id, source_ip_ranges_to_nat=["ALL_IP_RANGES"]
                )
            ],
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
        )
        # The implied VPC rule already denies ingress; this explicit rule makes
        # the intent reviewable and logs what it drops.
        self.deny_all_ingress = ComputeFirewall(
            self,
            "deny-all-ingress",
            name=f"{props.name}-deny-all-ingress",
            network=self.network.id,
            direction="INGRESS",
            priority=65534,
            source_ranges=["0.0.0.0/0"],
            deny=[ComputeFirewallDeny(protocol="all")],
            log_config={"metadata": "EXCLUDE_ALL_METADATA"},
        )
