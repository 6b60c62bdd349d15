"""cluster stack: private GKE, then what each service needs of Google Cloud.

The cluster itself is built here; identities, secrets and storage come from
the services (`PlatformService.provision`), in registry order.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformOutput
from constructs import Construct

from platform_config import PlatformConfig
from platform_constructs.private_gke_cluster import (
    BastionSpec,
    NodePoolSpec,
    PrivateGkeCluster,
    PrivateGkeClusterProps,
)
from platform_constructs.private_vpc import PODS_RANGE_NAME, SERVICES_RANGE_NAME
from platform_services.service import ClusterContext, PlatformService
from stacks.base import PlatformStack
from stacks.network import NetworkStack


def gke_cluster_props(config: PlatformConfig, network: NetworkStack) -> PrivateGkeClusterProps:
    """The config's cluster section as PrivateGkeCluster's props."""
    return PrivateGkeClusterProps(
        name=config.names.gke_cluster,
        project_id=config.project_id,
        location=config.region,
        network_id=network.vpc.network.id,
        subnet_id=network.vpc.subnet.id,
        subnet_cidr=config.network.subnet_cidr,
        pods_range_name=PODS_RANGE_NAME,
        services_range_name=SERVICES_RANGE_NAME,
        control_plane_access=config.cluster.control_plane_access,
        release_channel=config.cluster.release_channel,
        deletion_protection=config.cluster.deletion_protection,
        labels={**config.labels, "environment": config.environment},
        node_pools=[
            NodePoolSpec(
                name=pool.name,
                machine_type=pool.machine_type,
                min_nodes=pool.min_nodes,
                max_nodes=pool.max_nodes,
                spot=pool.spot,
                disk_size_gb=pool.disk_size_gb,
                gpu_type=pool.gpu.type if pool.gpu else None,
                gpu_count=pool.gpu.count if pool.gpu else 1,
                zones=pool.zones,
            )
            for pool in config.cluster.node_pools
        ],
        bastion=BastionSpec(
            zone=config.bastion_zone,
            machine_type=config.cluster.bastion.machine_type,
            members=config.access.bastion_members,
        )
        if config.bastion_mode
        else None,
    )


class ClusterStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        *,
        config: PlatformConfig,
        network: NetworkStack,
        services: Sequence[PlatformService],
    ) -> None:
        super().__init__(scope, "cluster", config=config)
        self.gke = PrivateGkeCluster(self, "gke", props=gke_cluster_props(config, network))
        self.services = services
        #: What the services created here, for the bootstrap stack.
        self.platform = ClusterContext(config=config, network=network, gke=self.gke)
        for service in services:
            service.provision(self, self.platform)
        self._outputs()

    def _outputs(self) -> None:
        gke, secrets = self.gke, self.platform.secrets
        TerraformOutput(self, "cluster_name", value=gke.cluster.name)
        TerraformOutput(self, "cluster_location", value=gke.cluster.location)
        TerraformOutput(
            self,
            "cluster_endpoint",
            value=gke.endpoint,
            description="DNS-based endpoint (dns mode) or private IP (bastion mode).",
        )
        TerraformOutput(self, "get_credentials_command", value=gke.get_credentials_command)
        if gke.bastion is not None:
            TerraformOutput(
                self,
                "tunnel_command",
                value=gke.bastion.tunnel_command,
                description=f"Opens the IAP tunnel; then HTTPS_PROXY={gke.bastion.proxy_url}",
            )
        TerraformOutput(
            self,
            "secrets_to_fill",
            value={name: secret.fill_command for name, secret in sorted(secrets.items())},
            description="Add each secret's value (never through Terraform) before Argo CD syncs.",
        )
        steps = ["`make deploy` continues with the bootstrap stack"]
        if secrets:
            steps.append(
                "fill the secrets in secrets_to_fill (the bootstrap stack's next_step lists "
                "everything left)"
            )
        self.next_step("Cluster ready. Next: " + "; then ".join(steps) + ".")
