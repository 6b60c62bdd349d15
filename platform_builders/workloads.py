"""A workload: one kind of pod, as mesh and network policies name it (plain data).

Each service declares its own workloads (platform_services/<name>/workloads.py),
with labels, service accounts and ports read from its chart's templates at the
pinned version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Workload:
    """One kind of pod: how policies select it and the identity it calls with."""

    name: str
    namespace: str
    selector: Mapping[str, str]
    service_account: str
    ports: tuple[int, ...] = field(default=())
    """Ports it serves (container ports, as AuthorizationPolicies see them)."""

    @property
    def principal(self) -> str:
        return f"cluster.local/ns/{self.namespace}/sa/{self.service_account}"
