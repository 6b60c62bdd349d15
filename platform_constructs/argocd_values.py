"""The computed part of Argo CD's values: URL, sign-in and RBAC from config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import yaml

ARGOCD_FULLNAME = "argocd"
#: The Service the gateway routes to (fullnameOverride + "-server").
ARGOCD_SERVER_SERVICE = f"{ARGOCD_FULLNAME}-server"

#: Secret (synced by External Secrets) holding the Google OAuth client.
OIDC_CLIENT_SECRET = "argocd-oidc-client"


def argocd_values(
    *,
    host: str,
    admins: Sequence[str],
    default_role: Literal["none", "readonly"],
    sign_in: Literal["iap", "google_oidc"],
    identity_header: str,
) -> dict[str, Any]:
    """Values merged over helm-values/argo-cd.yaml.

    iap: Dex's authproxy connector signs the user in from the header the
    gateway writes from the verified IAP token; argocd-server only accepts
    traffic from the gateway (mesh policy), so the header cannot be forged.
    google_oidc: Dex's OIDC connector with a client read from the Secret that
    External Secrets syncs from Secret Manager.
    """
    if sign_in == "iap":
        connector: dict[str, Any] = {
            "type": "authproxy",
            "id": "iap",
            "name": "Google (IAP)",
            "config": {"userHeader": identity_header},
        }
    else:
        connector = {
            "type": "oidc",
            "id": "google",
            "name": "Google",
            "config": {
                "issuer": "https://accounts.google.com",
                "clientID": f"${OIDC_CLIENT_SECRET}:clientID",
                "clientSecret": f"${OIDC_CLIENT_SECRET}:clientSecret",
                "redirectURI": f"https://{host}/api/dex/callback",
            },
        }
    # Argo CD 3 matches Dex users on federated_claims.user_id: the email here.
    policy = "\n".join(f"g, {admin}, role:admin" for admin in sorted(set(admins)))
    return {
        # Fixed names the routes and mesh policies rely on: argocd-server, ...
        "fullnameOverride": ARGOCD_FULLNAME,
        "global": {"domain": host},
        "dex": {"enabled": True},
        "configs": {
            "cm": {
                "url": f"https://{host}",
                "dex.config": yaml.safe_dump({"connectors": [connector]}, sort_keys=True),
            },
            "rbac": {
                "policy.csv": policy + "\n" if policy else "",
                "policy.default": "role:readonly" if default_role == "readonly" else "",
                "scopes": "[groups, email]",
            },
        },
    }
