"""The computed part of Argo CD's values: URL, sign-in and RBAC from config."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import yaml

ARGOCD_FULLNAME = "argocd"
#: The Service the gateway routes to (fullnameOverride + "-server").
ARGOCD_SERVER_SERVICE = f"{ARGOCD_FULLNAME}-server"

#: A policy.csv field that needs no quoting: Argo CD reads each line with Go's
#: encoding/csv (util/rbac loadPolicyLine), so a comma, quote, whitespace or
#: newline in an email would add fields or lines.
POLICY_CSV_TOKEN = re.compile(r"[a-z0-9][a-z0-9._+-]*@[a-z0-9.-]+")

#: Secret (synced by External Secrets) holding the Google OAuth client.
OIDC_CLIENT_SECRET = "argocd-oidc-client"


#: Dex authproxy header keys and their defaults when unset
#: (connector/authproxy/authproxy.go at Dex v2.45.1, the argo-cd chart's Dex).
AUTHPROXY_HEADER_DEFAULTS = {
    "userHeader": "X-Remote-User",
    "userIDHeader": "X-Remote-User-Id",
    "userNameHeader": "X-Remote-User-Name",
    "emailHeader": "X-Remote-User-Email",
    "groupHeader": "X-Remote-Group",
}


def authproxy_config(identity_header: str) -> dict[str, str]:
    """Every identity field Dex's authproxy reads comes from the gateway's header.

    user, user id, user name and email: the header the gateway writes from the
    verified IAP token (Dex falls back to userHeader only for an EMPTY header,
    so each key is set explicitly). groups: X-Remote-Group, which the gateway
    removes from every request, so Dex never sees a group.
    """
    return {
        "userHeader": identity_header,
        "userIDHeader": identity_header,
        "userNameHeader": identity_header,
        "emailHeader": identity_header,
        "groupHeader": AUTHPROXY_HEADER_DEFAULTS["groupHeader"],
    }


def argocd_values(
    *,
    host: str,
    admins: Sequence[str],
    default_role: Literal["none", "readonly"],
    sign_in: Literal["iap", "google_oidc"],
    identity_header: str,
    team_applications_namespace: str,
    teams: Mapping[str, tuple[str, Sequence[str]]] | None = None,
) -> dict[str, Any]:
    """Values merged over helm-values/argo-cd.yaml.

    iap: Dex's authproxy connector signs the user in from the header the
    gateway writes from the verified IAP token; argocd-server only accepts
    traffic from the gateway (mesh policy), so the header cannot be forged.
    google_oidc: Dex's OIDC connector with a client read from the Secret that
    External Secrets syncs from Secret Manager.

    team_applications_namespace: the one namespace besides argocd where Argo CD
    reads Applications and ApplicationSets (the team's; its AppProject lists it
    in sourceNamespaces, no other project does). The SCM-provider and
    pull-request generators stay off: from a team namespace they could send a
    token to any URL (Argo CD's ApplicationSets-in-any-namespace warning).
    teams: team (= its AppProject) -> (its applications namespace, its members);
    members may get and sync Applications of their own project only.
    """
    teams = teams or {}
    if sign_in == "iap":
        connector: dict[str, Any] = {
            "type": "authproxy",
            "id": "iap",
            "name": "Google (IAP)",
            "config": authproxy_config(identity_header),
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
    # Groups are never trusted: nothing verified supplies them (IAP's token has
    # none), so RBAC matches the user id and the verified email only.
    members = [member for _, team_members in teams.values() for member in team_members]
    bad = sorted(user for user in {*admins, *members} if not POLICY_CSV_TOKEN.fullmatch(user))
    if bad:
        raise ValueError(
            "argocd_values: admins must be plain email addresses (no comma, quote, space or "
            f"newline: they would change policy.csv), got {', '.join(map(repr, bad))}"
        )
    lines = [f"g, {admin}, role:admin" for admin in sorted(set(admins))]
    for team, (_, team_members) in sorted(teams.items()):
        lines += [
            f"p, role:team-{team}, applications, {action}, {team}/*, allow"
            for action in ("get", "sync")
        ]
        lines += [f"g, {member}, role:team-{team}" for member in sorted(set(team_members))]
    policy = "\n".join(lines)
    application_namespaces = ",".join(
        [team_applications_namespace, *(namespace for namespace, _ in teams.values())]
    )
    return {
        # Fixed names the routes and mesh policies rely on: argocd-server, ...
        "fullnameOverride": ARGOCD_FULLNAME,
        "dex": {"enabled": True},
        # The chart's NetworkPolicies (same callers as the mesh policies), and
        # deny every other ingress in the namespace.
        "global": {"domain": host, "networkPolicy": {"create": True, "defaultDenyIngress": True}},
        "applicationSet": {"allowAnyNamespace": True},
        "configs": {
            "params": {
                "application.namespaces": application_namespaces,
                "applicationsetcontroller.namespaces": application_namespaces,
                "applicationsetcontroller.enable.scm.providers": False,
            },
            "cm": {
                "url": f"https://{host}",
                "dex.config": yaml.safe_dump({"connectors": [connector]}, sort_keys=True),
            },
            "rbac": {
                "policy.csv": policy + "\n" if policy else "",
                "policy.default": "role:readonly" if default_role == "readonly" else "",
                "scopes": "[email]",
            },
        },
    }
