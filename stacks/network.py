"""network stack: APIs, private VPC with NAT, ingress IP, the door's certificates, DNS."""

from __future__ import annotations

from shlex import quote

from cdktf import TerraformOutput
from cdktf_cdktf_provider_google.compute_global_address import ComputeGlobalAddress
from constructs import Construct

from platform_config import PlatformConfig
from platform_config.names import door_names
from platform_constructs.ingress_dns import IngressDns, IngressDnsProps
from platform_constructs.private_services_access import (
    PrivateServicesAccess,
    PrivateServicesAccessProps,
)
from platform_constructs.private_vpc import PrivateVpc, PrivateVpcProps
from platform_constructs.project_services import ProjectServices
from platform_constructs.wildcard_certificates import (
    WildcardCertificates,
    WildcardCertificatesProps,
)
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

        # The door's forwarding rules (bootstrap stack) take this address; it
        # outlives them so DNS survives a re-created load balancer.
        self.ingress_ip = ComputeGlobalAddress(
            self, "ingress-ip", name=config.names.ingress_ip, depends_on=[self.vpc.network]
        )
        # Here, not with the door: created (and ACTIVE through DNS-01) before the
        # bootstrap stack builds the load balancer that serves them.
        self.certificates = WildcardCertificates(
            self,
            "certificates",
            props=WildcardCertificatesProps(
                domain=config.domain,
                user_domain=config.user_host_parent,
                names=door_names(config.names),
                depends_on=[apis.services["certificatemanager.googleapis.com"]],
            ),
        )
        self.dns = IngressDns(
            self,
            "dns",
            props=IngressDnsProps(
                domain=config.domain,
                ip_address=self.ingress_ip.address,
                user_domain=config.user_host_parent,
                authorization_records=self.certificates.authorization_records,
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
        steps = [f"create the DNS record {record}" for record in self.dns.records_to_create]
        steps.append(
            "the certificates become ACTIVE once the authorization CNAMEs resolve: "
            "gcloud certificate-manager certificates list "
            f"--project {quote(config.project_id)} --filter={quote('name~' + config.names.door)}"
        )
        steps.append("`make deploy` continues with the cluster stack")
        self.next_step(
            "Network ready. Next, in order: "
            + " ".join(f"({n}) {step};" for n, step in enumerate(steps, start=1)).removesuffix(";")
            + "."
        )
