"""Argo CD RBAC, evaluated the way Argo CD 3.4.4 evaluates it.

casbin (pycasbin) with Argo CD's own model.conf and built-in policy
(tests/services/argocd/fixtures/, copied from argoproj/argo-cd v3.4.4), the policy lines
read as util/rbac/rbac.go's loadPolicyLine reads them (encoding/csv with
TrimLeadingSpace, then "g" needs 3 fields and "p" 6), and the claims checked as
server/rbacpolicy/rbacpolicy.go's EnforceClaims checks them: the default role,
then the subject (Dex's federated user id), then each value of the configured
scopes. globOrRegexMatch in the default "glob" match mode is a glob match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from platform_services.argocd.values import argocd_values
from tests.support.argocd import policy_lines
from tests.support.argocd_rbac import ArgoCdRbac
from tests.support.stacks import releases, values_of
from tests.support.synth import Synthesized
from tests.support.variants import example_data

ADMIN_ACTIONS = [
    ("applications", "sync", "default/jupyterhub"),
    ("applications", "delete", "default/jupyterhub"),
    ("clusters", "update", "https://kubernetes.default.svc"),
    ("projects", "create", "team"),
    ("exec", "create", "default/jupyterhub"),
]
READ_ACTIONS = [("applications", "get", "default/jupyterhub"), ("projects", "get", "team")]


def _dex_claims(email: str, *, user_id: str | None = None, groups: Sequence[str] = ()) -> Any:
    """Claims of a Dex token: authproxy puts the gateway's header in user id and email."""
    return {
        "sub": "opaque-dex-subject",
        "email": email,
        "groups": list(groups),
        "federated_claims": {"connector_id": "iap", "user_id": user_id or email},
    }


def _synthesized_rbac(synthesized: Synthesized, variant: str) -> Any:
    return values_of(releases(synthesized.stack(variant, "bootstrap"))["argo-cd"])["configs"][
        "rbac"
    ]


@pytest.mark.parametrize("variant", ["example", "bastion"])
def test_configured_admins_and_nobody_else_are_admins(
    synthesized: Synthesized, variant: str
) -> None:
    rbac = ArgoCdRbac(_synthesized_rbac(synthesized, variant))
    configured = set(example_data()["access"]["argocd_admins"])
    # The built-in "g, admin, role:admin" is Argo CD's local admin account,
    # which the platform disables (no Dex identity is ever the bare "admin":
    # IAP and Google report email addresses, OIDC a numeric subject).
    cm = values_of(releases(synthesized.stack(variant, "bootstrap"))["argo-cd"])["configs"]["cm"]
    assert cm["admin.enabled"] is False
    assert rbac.admins() - {"admin"} == configured
    for admin in configured:
        for action in ADMIN_ACTIONS:
            assert rbac.allows(_dex_claims(admin), *action), (admin, action)
    # Identities are verified email addresses (IAP's or Google's email claim),
    # never role names: casbin would treat a subject "role:admin" as the role.
    strangers = [
        "someone@example.com",
        "admin@example.com.attacker.net",
        "admin@example.co",
        "other-admin@example.com",
    ]
    for email in strangers:
        claims = _dex_claims(email)
        for action in ADMIN_ACTIONS:
            assert not rbac.allows(claims, *action), (email, action)
        for action in READ_ACTIONS:  # the example's default role is readonly
            assert rbac.allows(claims, *action), (email, action)


def test_default_role_none_gives_nothing() -> None:
    values = argocd_values(
        team_applications_namespace="team-apps",
        host="argocd.example.com",
        admins=["admin@example.com"],
        default_role="none",
        sign_in="iap",
        identity_header="x-iap-user-email",
    )
    rbac = ArgoCdRbac(values["configs"]["rbac"])
    for action in ADMIN_ACTIONS + READ_ACTIONS:
        assert not rbac.allows(_dex_claims("someone@example.com"), *action)
        assert rbac.allows(_dex_claims("admin@example.com"), *action)


@pytest.mark.parametrize("variant", ["example", "bastion"])
def test_a_group_claim_never_grants_admin(synthesized: Synthesized, variant: str) -> None:
    """Even if a group named after an admin reached the token, scopes ignore groups."""
    rbac = ArgoCdRbac(_synthesized_rbac(synthesized, variant))
    forged = _dex_claims("someone@example.com", groups=["admin@example.com", "role:admin"])
    for action in ADMIN_ACTIONS:
        assert not rbac.allows(forged, *action), action


def test_the_evaluator_would_see_a_group_grant() -> None:
    """The check above can fail: with Argo CD's old scopes a group grants admin."""
    rbac = ArgoCdRbac(
        {"policy.csv": "g, admin@example.com, role:admin\n", "scopes": "[groups, email]"}
    )
    forged = _dex_claims("someone@example.com", groups=["admin@example.com"])
    assert rbac.allows(forged, *ADMIN_ACTIONS[0])


def test_oidc_sign_in_matches_admins_by_verified_email() -> None:
    """Google OIDC through Dex: the user id is Google's numeric subject; the
    admin line matches through the email scope."""
    values = argocd_values(
        team_applications_namespace="team-apps",
        host="argocd.example.com",
        admins=["admin@example.com"],
        default_role="none",
        sign_in="google_oidc",
        identity_header="x-iap-user-email",
    )
    rbac = ArgoCdRbac(values["configs"]["rbac"])
    admin = _dex_claims("admin@example.com", user_id="104828594381929")
    assert rbac.allows(admin, *ADMIN_ACTIONS[0])
    assert not rbac.allows(_dex_claims("x@example.com", user_id="1"), *ADMIN_ACTIONS[0])


def test_policy_lines_parse_as_argocd_reads_them(synthesized: Synthesized) -> None:
    text = _synthesized_rbac(synthesized, "example")["policy.csv"]
    assert policy_lines(text) == [["g", "admin@example.com", "role:admin"]]
    with pytest.raises(ValueError, match="invalid RBAC policy"):
        policy_lines('g, "a@example.com, role:admin", role:admin, extra')
