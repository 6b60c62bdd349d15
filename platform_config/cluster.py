"""`cluster`: the private GKE cluster, its node pools (GPUs included) and the bastion."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from platform_config.base import StrictModel, field_error, unique
from platform_config.types import DnsLabel, GpuType, MachineType, Zone


class GpuConfig(StrictModel):
    """Accelerators attached to every node of the pool."""

    type: GpuType
    """GPU type such as nvidia-l4."""
    count: int = Field(default=1, ge=1, le=8)
    """GPUs per node."""


class NodePoolConfig(StrictModel):
    """One autoscaled node pool."""

    name: DnsLabel
    """Pool name (a DNS label)."""
    machine_type: MachineType = "e2-standard-4"
    """Compute Engine machine type."""
    min_nodes: int = Field(default=1, ge=0, le=100)
    """Per zone: the pool keeps this many nodes in each of its zones. Default 1,
    and 0 for a GPU pool (GPUs are started when a server asks for one)."""
    max_nodes: int = Field(default=3, ge=1, le=100)
    """Per zone: the pool grows to at most this many nodes in each of its zones."""
    spot: bool = False
    """Spot VMs (cheaper, may be preempted)."""
    disk_size_gb: int = Field(default=100, ge=20, le=2000)
    """Boot disk (pd-balanced) per node."""
    gpu: GpuConfig | None = None
    """GPUs per node; such a pool gets the driver and a NoSchedule taint."""
    zones: Annotated[list[Zone], AfterValidator(unique), Field(min_length=1)] | None = None
    """Zones of the region the pool runs in (node_locations). Default: every zone
    of the region. Required for a GPU pool: only the zones that offer its GPU."""

    @model_validator(mode="before")
    @classmethod
    def _gpu_pools_start_empty(cls, data: object) -> object:
        # An idle GPU costs the most: a GPU pool starts at 0 nodes unless set.
        if isinstance(data, dict) and data.get("gpu") is not None and "min_nodes" not in data:
            return {**data, "min_nodes": 0}
        return data

    @model_validator(mode="after")
    def _gpu_pools_name_their_zones(self) -> NodePoolConfig:
        if self.gpu is not None and self.zones is None:
            raise field_error(
                "zones",
                f"is required for a GPU pool: not every zone of a region offers {self.gpu.type}, "
                "and the pool fails to create in one that does not. List the zones that do "
                f'(gcloud compute accelerator-types list --filter="name={self.gpu.type}")',
            )
        return self

    @model_validator(mode="after")
    def _min_not_above_max(self) -> NodePoolConfig:
        if self.min_nodes > self.max_nodes:
            raise field_error(
                "min_nodes",
                f"{self.min_nodes} is greater than max_nodes ({self.max_nodes}): "
                "min_nodes must be <= max_nodes",
            )
        return self


def _default_node_pools() -> list[NodePoolConfig]:
    return [NodePoolConfig(name="general")]


class BastionConfig(StrictModel):
    """The IAP bastion VM (bastion mode only)."""

    machine_type: MachineType = "e2-micro"
    """Compute Engine machine type of the bastion."""
    zone: Zone | None = None
    """A zone of `region`; defaults to <region>-b, a zone that exists in nearly every region."""


class ClusterConfig(StrictModel):
    """The private GKE cluster."""

    name: DnsLabel = "mlops"
    """Name prefix of the cluster and its resources: <name>-<environment>-gke, ..."""
    control_plane_access: Literal["dns", "bastion"] = "dns"
    """dns: DNS-based endpoint checked by IAM. bastion: private IP + IAP bastion."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    """GKE release channel."""
    deletion_protection: bool = True
    """Terraform refuses to delete the cluster while true."""
    node_pools: list[NodePoolConfig] = Field(
        default_factory=_default_node_pools, min_length=1, max_length=50
    )
    """Node pools; names unique."""
    bastion: BastionConfig = BastionConfig()
    """The bastion VM (bastion mode only)."""

    @field_validator("node_pools")
    @classmethod
    def _pool_names_unique(cls, pools: list[NodePoolConfig]) -> list[NodePoolConfig]:
        unique([p.name for p in pools])
        return pools

    @property
    def has_gpu_pool(self) -> bool:
        return any(p.gpu is not None for p in self.node_pools)
