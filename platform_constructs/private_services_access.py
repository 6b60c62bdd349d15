"""PrivateServicesAccess: a peered range for Google-managed services (Cloud SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from cdktf_cdktf_provider_google.compute_global_address import ComputeGlobalAddress
from cdktf_cdktf_provider_google.service_networking_connection import ServiceNetworkingConnection
from constructs import Construct


@dataclass(frozen=True, kw_only=True)
class PrivateServicesAccessProps:
    name: str
    network_id: str
    cidr: str
    """Reserved for Google's side of the peering; at least a /24 (Cloud SQL)."""


class PrivateServicesAccess(Construct):
    """Lets Cloud SQL get a private IP in the VPC, so it needs no public IP."""

    def __init__(self, scope: Construct, id_: str, *, props: PrivateServicesAccessProps) -> None:
        super().__init__(scope, id_)
        network = IPv4Network(props.cidr)
        if network.prefixlen > 24:
            raise ValueError(f"PrivateServicesAccess: {props.cidr} is smaller than a /24")
        if not network.is_private:
            raise ValueError(f"PrivateServicesAccess: {props.cidr} is not a private range")
        self.range = ComputeGlobalAddress(
            self,
            "range",
            name=props.name,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            address=str(network.network_address),
            prefix_length=network.prefixlen,
            network=props.network_id,
        )
        self.connection = ServiceNetworkingConnection(
            self,
            "connection",
            network=props.network_id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[self.range.name],
            # Abandon instead of delete on destroy: Google refuses to delete
            # the peering while a Cloud SQL instance is still being torn down.
            deletion_policy="ABANDON",
        )
