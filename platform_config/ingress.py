"""`ingress`: the gateway's backend service on Google's load balancer."""

from __future__ import annotations

from pydantic import Field

from platform_config.base import StrictModel


class IngressConfig(StrictModel):
    """The gateway's backend service on the Terraform-owned load balancer."""

    backend_timeout_seconds: int = Field(default=3600, ge=3600, le=86400)
    """Longest a request, and a WebSocket (JupyterLab kernels and terminals, Argo
    CD streams), lives on the load balancer; Google's default, 30 s, drops them."""
    connection_draining_seconds: int = Field(default=60, ge=0, le=3600)
    """How long a gateway pod leaving the NEG keeps its open connections (0 = off)."""
