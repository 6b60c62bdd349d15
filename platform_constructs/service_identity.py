"""ServiceIdentity: a dedicated Google service account with additive roles.

Every workload of the platform runs as its own least-privilege identity,
never as the default compute service account. Roles are granted with
`google_project_iam_member` (additive): nothing here can remove a member that
someone else granted, as an authoritative binding would.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_google.project_iam_member import ProjectIamMember
from cdktf_cdktf_provider_google.service_account import ServiceAccount
from cdktf_cdktf_provider_google.service_account_iam_member import ServiceAccountIamMember
from constructs import Construct

#: Basic roles grant far more than any workload needs; never grant them.
FORBIDDEN_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


@dataclass(frozen=True, kw_only=True)
class KubernetesServiceAccountRef:
    """The Kubernetes service account that impersonates this identity."""

    namespace: str
    name: str


@dataclass(frozen=True, kw_only=True)
class ServiceIdentityProps:
    project_id: str
    account_id: str
    """6-30 characters: lowercase letters, digits, hyphens."""
    display_name: str
    project_roles: Sequence[str] = ()
    """Project-level roles, granted additively. Prefer resource-level IAM."""
    workload_identity_user: KubernetesServiceAccountRef | None = None
    """Lets this Kubernetes service account act as the identity (Workload Identity)."""
    depends_on: Sequence[ITerraformDependable] = field(default=())
    """For Workload Identity: the cluster, whose creation makes the identity pool."""


class ServiceIdentity(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: ServiceIdentityProps) -> None:
        super().__init__(scope, id_)
        if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", props.account_id):
            raise ValueError(
                f"ServiceIdentity: account_id {props.account_id!r} must be 6-30 lowercase "
                "letters, digits or hyphens, starting with a letter"
            )
        basic = sorted(set(props.project_roles) & FORBIDDEN_ROLES)
        if basic:
            raise ValueError(f"ServiceIdentity: basic roles are not allowed: {', '.join(basic)}")
        self.account = ServiceAccount(
            self, "account", account_id=props.account_id, display_name=props.display_name
        )
        self.account_id = props.account_id
        self.email = self.account.email
        #: The same email as a plain string, for places that must read it at
        #: synth time (Helm values checked by the tests, annotations).
        self.email_address = f"{props.account_id}@{props.project_id}.iam.gserviceaccount.com"
        self.member = f"serviceAccount:{self.account.email}"
        for role in sorted(set(props.project_roles)):
            ProjectIamMember(
                self,
                role.removeprefix("roles/").replace(".", "-"),
                project=props.project_id,
                role=role,
                member=self.member,
            )
        ksa = props.workload_identity_user
        if ksa is not None:
            ServiceAccountIamMember(
                self,
                "workload-identity-user",
                service_account_id=self.account.name,
                role="roles/iam.workloadIdentityUser",
                member=f"serviceAccount:{props.project_id}.svc.id.goog[{ksa.namespace}/{ksa.name}]",
                depends_on=list(props.depends_on),
            )
