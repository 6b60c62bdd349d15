"""`access`: who may reach the platform, and how Argo CD signs them in."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from platform_config.base import StrictModel, slugs_unique, unique
from platform_config.types import DomainName, Email, IamMember


class AccessConfig(StrictModel):
    """Who may reach the platform, and how Argo CD signs them in."""

    iap_members: Annotated[
        list[IamMember], AfterValidator(unique), AfterValidator(slugs_unique)
    ] = Field(min_length=1, max_length=500)
    """Granted roles/iap.httpsResourceAccessor: who gets through the load balancer."""

    organization_domains: Annotated[list[DomainName], AfterValidator(unique)] = Field(
        default_factory=list, max_length=50
    )
    """The DNS domains of the project's organization (its Cloud Identity or Workspace
    domains). IAP's Google-managed OAuth client admits only the organization's
    accounts, so every user:/group: member of iap_members must have an email in one
    of these domains, and every domain: member must be one of them."""

    argocd_admins: Annotated[list[Email], AfterValidator(unique)] = Field(
        default_factory=list, max_length=500
    )
    """Email addresses given the Argo CD role:admin."""

    argocd_default_role: Literal["none", "readonly"] = "none"
    """Role of every other signed-in user: none (see nothing) or readonly."""

    argocd_sign_in: Literal["iap", "google_oidc"] = "iap"
    """iap: sign in from the verified IAP identity (no OAuth client to make).
    google_oidc: Google OIDC with a client stored in Secret Manager."""

    bastion_members: Annotated[
        list[IamMember], AfterValidator(unique), AfterValidator(slugs_unique)
    ] = Field(default_factory=list, max_length=500)
    """Granted roles/iap.tunnelResourceAccessor (bastion mode only)."""
