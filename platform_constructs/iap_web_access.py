"""IapWebAccess: who may pass IAP to the platform's web apps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_google.iap_web_iam_member import IapWebIamMember
from constructs import Construct

from platform_builders.iam_members import not_iam_members
from platform_builders.naming import slug

IAP_WEB_USER_ROLE = "roles/iap.httpsResourceAccessor"


@dataclass(frozen=True, kw_only=True)
class IapWebAccessProps:
    project_id: str
    members: Sequence[str]


class IapWebAccess(Construct):
    """One additive `google_iap_web_iam_member` per member.

    The backend services are created by GKE's Ingress controller, after
    Terraform, so access is granted on the project's IAP web resource (every
    IAP-protected backend of this project). Additive members never remove
    access someone else granted, as a `*_iam_binding` would.
    """

    def __init__(self, scope: Construct, id_: str, *, props: IapWebAccessProps) -> None:
        super().__init__(scope, id_)
        members = sorted(set(props.members))
        if not members:
            raise ValueError("IapWebAccess: no members; nobody could reach the platform")
        bad = not_iam_members(members)
        if bad:
            raise ValueError(f"IapWebAccess: not IAM members: {', '.join(bad)}")
        self.grants = [
            IapWebIamMember(
                self, slug(member), project=props.project_id, role=IAP_WEB_USER_ROLE, member=member
            )
            for member in members
        ]
