"""securityContext of every container the platform itself defines (pure data)."""

from __future__ import annotations

from typing import Any

#: The distroless image's "nonroot" user.
NONROOT_UID = 65532
#: securityContext of every container the platform itself defines: non-root
#: (the distroless "nonroot" user), read-only, no privileges, default seccomp.
HARDENED_CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": NONROOT_UID,
    "runAsGroup": NONROOT_UID,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
