"""`dns`: optional Cloud DNS records for the domain."""

from __future__ import annotations

from platform_config.base import StrictModel
from platform_config.types import DnsZoneName


class DnsConfig(StrictModel):
    """Optional Cloud DNS records for the domain."""

    managed_zone: DnsZoneName | None = None
    """Cloud DNS zone (in project_id) that serves `domain`. None: create the
    records yourself; the network stack prints them."""
