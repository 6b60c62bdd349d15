"""GkeNodePool: a separately managed, hardened, autoscaled node pool."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_google.container_node_pool import (
    ContainerNodePool,
    ContainerNodePoolNodeConfigGuestAccelerator,
    ContainerNodePoolNodeConfigTaint,
)
from constructs import Construct

#: Scopes are a legacy second gate; IAM on the node service account decides.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

#: Node settings shared with the cluster's (removed) default pool, so checkov
#: and a reviewer see the same hardening everywhere.
HARDENED_NODE_CONFIG = {
    "image_type": "COS_CONTAINERD",
    "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
    "workload_metadata_config": {"mode": "GKE_METADATA"},
    "metadata": {"disable-legacy-endpoints": "true"},
    "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
}


@dataclass(frozen=True, kw_only=True)
class GkeNodePoolProps:
    name: str
    cluster_id: str
    location: str
    service_account_email: str
    machine_type: str = "e2-standard-4"
    min_nodes: int = 1
    """Per zone: each zone of the pool keeps at least this many nodes."""
    max_nodes: int = 3
    """Per zone: each zone of the pool grows to at most this many nodes."""
    spot: bool = False
    disk_size_gb: int = 100
    gpu_type: str | None = None
    gpu_count: int = 1
    labels: dict[str, str] | None = None
    zones: Sequence[str] | None = None
    """node_locations: zones of `location` (a region) the pool runs in; None: the
    cluster's zones (every zone of the region). A GPU pool names the zones that
    offer its accelerator, or creating it fails."""


class GkeNodePool(Construct):
    """Auto-repaired, auto-upgraded COS nodes with secure boot and the GKE
    metadata server (pods cannot read the node's credentials)."""

    def __init__(self, scope: Construct, id_: str, *, props: GkeNodePoolProps) -> None:
        super().__init__(scope, id_)
        if props.min_nodes > props.max_nodes:
            raise ValueError(
                f"GkeNodePool {props.name}: min_nodes {props.min_nodes} > "
                f"max_nodes {props.max_nodes}"
            )
        if props.min_nodes < 0 or props.max_nodes < 1:
            raise ValueError(f"GkeNodePool {props.name}: need min_nodes >= 0 and max_nodes >= 1")
        if props.zones is not None:
            zones = list(props.zones)
            if not zones:
                raise ValueError(f"GkeNodePool {props.name}: zones is empty (None means all)")
            if len(set(zones)) != len(zones):
                raise ValueError(f"GkeNodePool {props.name}: duplicate zones in {zones}")
            outside = [
                z for z in zones if not re.fullmatch(re.escape(props.location) + r"-[a-z]", z)
            ]
            if outside:
                raise ValueError(
                    f"GkeNodePool {props.name}: zones {outside} are not zones of {props.location}"
                )
        gpu = props.gpu_type is not None
        if gpu and props.gpu_count < 1:
            raise ValueError(f"GkeNodePool {props.name}: gpu_count must be >= 1 with a gpu_type")
        self.pool = ContainerNodePool(
            self,
            "pool",
            name=props.name,
            cluster=props.cluster_id,
            location=props.location,
            node_locations=list(props.zones) if props.zones is not None else None,
            # min, max and the initial count are per zone of node_locations.
            initial_node_count=props.min_nodes,
            autoscaling={"min_node_count": props.min_nodes, "max_node_count": props.max_nodes},
            management={"auto_repair": True, "auto_upgrade": True},
            upgrade_settings={"max_surge": 1, "max_unavailable": 0, "strategy": "SURGE"},
            node_config={
                **HARDENED_NODE_CONFIG,
                "machine_type": props.machine_type,
                "disk_size_gb": props.disk_size_gb,
                "disk_type": "pd-balanced",
                "spot": props.spot,
                "service_account": props.service_account_email,
                "labels": {**(props.labels or {}), "pool": props.name},
                "guest_accelerator": [
                    ContainerNodePoolNodeConfigGuestAccelerator(
                        type=props.gpu_type or "",
                        count=props.gpu_count,
                        gpu_driver_installation_config={"gpu_driver_version": "LATEST"},
                    )
                ]
                if gpu
                else None,
                # GPU nodes only take pods that ask for a GPU.
                "taint": [
                    ContainerNodePoolNodeConfigTaint(
                        key="nvidia.com/gpu", value="present", effect="NO_SCHEDULE"
                    )
                ]
                if gpu
                else None,
            },
            # The autoscaler owns the node count after creation.
            lifecycle={"ignore_changes": ["initial_node_count"]},
        )
