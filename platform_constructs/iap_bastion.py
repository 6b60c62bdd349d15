"""IapBastion: a VM reachable only through IAP TCP forwarding, running tinyproxy.

In `bastion` mode the control plane has only a private endpoint. Operators
(and Terraform's kubernetes/helm providers) reach it through
`gcloud compute ssh --tunnel-through-iap ... -L 8888:localhost:8888`, then
use http://localhost:8888 as an HTTPS proxy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from shlex import quote

from cdktf_cdktf_provider_google.compute_firewall import ComputeFirewall, ComputeFirewallAllow
from cdktf_cdktf_provider_google.compute_instance import (
    ComputeInstance,
    ComputeInstanceNetworkInterface,
)
from cdktf_cdktf_provider_google.compute_instance_iam_member import ComputeInstanceIamMember
from cdktf_cdktf_provider_google.iap_tunnel_instance_iam_member import IapTunnelInstanceIamMember
from cdktf_cdktf_provider_google.service_account_iam_member import ServiceAccountIamMember
from constructs import Construct

from platform_builders.iam_members import not_iam_members
from platform_builders.naming import slug
from platform_constructs.service_identity import ServiceIdentity, ServiceIdentityProps

#: Source range of IAP TCP forwarding (Google-documented, fixed).
IAP_TCP_FORWARDING_RANGE = "35.235.240.0/20"
PROXY_PORT = 8888

# tinyproxy listens on loopback only: the one way to it is the SSH tunnel.
# apt retries because NAT (network stack) may still be warming up at boot.
STARTUP_SCRIPT = f"""#!/bin/bash
set -euo pipefail
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  apt-get update && apt-get install -y tinyproxy && break
  sleep 30
done
cat > /etc/tinyproxy/tinyproxy.conf <<'CONF'
User tinyproxy
Group tinyproxy
Port {PROXY_PORT}
Listen 127.0.0.1
Timeout 600
LogLevel Warning
MaxClients 50
Allow 127.0.0.1
ConnectPort 443
CONF
systemctl enable tinyproxy
systemctl restart tinyproxy
"""


@dataclass(frozen=True, kw_only=True)
class IapBastionProps:
    name: str
    project_id: str
    zone: str
    network_id: str
    subnet_id: str
    members: Sequence[str]
    """Who may open the tunnel (user:/group:/serviceAccount:)."""
    machine_type: str = "e2-micro"
    image: str = "debian-cloud/debian-12"


class IapBastion(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: IapBastionProps) -> None:
        super().__init__(scope, id_)
        if not props.members:
            raise ValueError("IapBastion: members is empty; nobody could open the tunnel")
        bad = not_iam_members(props.members)
        if bad:
            raise ValueError(f"IapBastion: not IAM members: {', '.join(bad)}")
        self.identity = ServiceIdentity(
            self,
            "identity",
            props=ServiceIdentityProps(
                project_id=props.project_id,
                account_id=props.name,
                display_name="IAP bastion (tinyproxy to the GKE control plane)",
                project_roles=("roles/logging.logWriter", "roles/monitoring.metricWriter"),
            ),
        )
        self.instance = ComputeInstance(
            self,
            "vm",
            name=props.name,
            zone=props.zone,
            machine_type=props.machine_type,
            boot_disk={
                "initialize_params": {"image": props.image, "size": 10, "type": "pd-balanced"}
            },
            # No access_config: no external IP. Egress goes through Cloud NAT.
            network_interface=[
                ComputeInstanceNetworkInterface(
                    network=props.network_id, subnetwork=props.subnet_id
                )
            ],
            shielded_instance_config={
                "enable_secure_boot": True,
                "enable_vtpm": True,
                "enable_integrity_monitoring": True,
            },
            service_account={"email": self.identity.email, "scopes": ["cloud-platform"]},
            metadata={"enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE"},
            metadata_startup_script=STARTUP_SCRIPT,
            allow_stopping_for_update=True,
        )
        self.firewall = ComputeFirewall(
            self,
            "allow-iap-ssh",
            name=f"{props.name}-allow-iap-ssh",
            network=props.network_id,
            direction="INGRESS",
            source_ranges=[IAP_TCP_FORWARDING_RANGE],
            target_service_accounts=[self.identity.email],
            allow=[ComputeFirewallAllow(protocol="tcp", ports=["22"])],
            log_config={"metadata": "INCLUDE_ALL_METADATA"},
        )
        for member in sorted(set(props.members)):
            member_id = slug(member)
            IapTunnelInstanceIamMember(
                self,
                f"tunnel-{member_id}",
                instance=self.instance.name,
                zone=props.zone,
                role="roles/iap.tunnelResourceAccessor",
                member=member,
            )
            # OS Login on this VM only, and acting as its service account.
            ComputeInstanceIamMember(
                self,
                f"os-login-{member_id}",
                instance_name=self.instance.name,
                zone=props.zone,
                role="roles/compute.osLogin",
                member=member,
            )
            ServiceAccountIamMember(
                self,
                f"sa-user-{member_id}",
                service_account_id=self.identity.account.name,
                role="roles/iam.serviceAccountUser",
                member=member,
            )
        self.tunnel_command = (
            f"gcloud compute ssh {quote(props.name)} --tunnel-through-iap "
            f"--project {quote(props.project_id)} --zone {quote(props.zone)} "
            f"-- -L {PROXY_PORT}:localhost:{PROXY_PORT} -N -q -f"
        )
        self.proxy_url = f"http://localhost:{PROXY_PORT}"
