"""network stack: APIs, private VPC with NAT, ingress IP and its DNS records."""

from __future__ import annotations

from cdktf import TerraformOutput
from cdktf_cdktf_provider_google.compute_global_address import ComputeGlobalAddress
from constructs import Construct

from platform_config import PlatformConfig
from platform_constructs.ingress_dns import IngressDns, IngressDnsProps
from platform_constructs.private_services_access import (
    PrivateServicesAccess,
    PrivateServicesAccessProps,
)
from platform_constructs.private_vpc import PrivateVpc, PrivateVpcProps
from platform_constructs.project_services import ProjectServices
from stacks.base import PlatformStack


class NetworkStack(PlatformStack):
    def __init__(self, scope: Construct, *, config: PlatformConfig) -> None:
        super().__init__(scope, "network", config=config)
        apis = ProjectServices(self, "apis")

        self.vpc = PrivateVpc(
            self,
            "vpc",
            props=PrivateVpcProps(
                name=config.names.vpc,
                region=config.region,
                subnet_cidr=config.network.subnet_cidr,
                pods_cidr=config.network.pods_cidr,
                services_cidr=config.network.services_cidr,
                depends_on=list(apis.services.values()),
            ),
        )

        self.private_services = (
            PrivateServicesAccess(
                self,
                "private-services",
                props=PrivateServicesAccessProps(
                    name=config.names.private_services,
                    network_id=self.vpc.network.id,
                    cidr=config.network.private_services_cidr,
                ),
            )
            if config.needs_private_services
            else None
        )

        # The GKE Ingress takes this address by name; it outlives the Ingress
        # so DNS and the certificate survive a re-created load balancer.
        self.ingress_ip = ComputeGlobalAddress(
            self, "ingress-ip", name=config.names.ingress_ip, depends_on=[self.vpc.network]
        )
        self.dns = IngressDns(
            self,
            "dns",
            props=IngressDnsProps(
                domain=config.domain,
                ip_address=self.ingress_ip.address,
                managed_zone=config.dns.managed_zone,
            ),
        )

        TerraformOutput(
            self,
            "ingress_ip",
            value=self.ingress_ip.address,
            description="Global IP of the IAP-protected load balancer.",
        )
        TerraformOutput(self, "network_name", value=self.vpc.network.name)
        self.next_step(
            "Network ready. Next: `make deploy` continues with the cluster stack"
            + (
                ""
                if config.dns.managed_zone
                else "; create the dns_records above at your DNS provider"
            )
            + "."
        )
