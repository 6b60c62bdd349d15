"""ManagedSecret: a Secret Manager secret whose value never touches Terraform.

Terraform creates the container and grants read access to exactly the
identities that need it; the operator adds the value with gcloud, so no secret
material is ever in the plan, the state or cdktf.out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from shlex import quote

from cdktf_cdktf_provider_google.secret_manager_secret import (
    SecretManagerSecret,
    SecretManagerSecretReplicationUserManagedReplicas,
)
from cdktf_cdktf_provider_google.secret_manager_secret_iam_member import (
    SecretManagerSecretIamMember,
)
from constructs import Construct

from platform_builders.naming import slug


@dataclass(frozen=True, kw_only=True)
class ManagedSecretProps:
    secret_id: str
    project_id: str
    region: str
    """Replicas stay in the platform's region."""
    accessors: Mapping[str, str]
    """Members granted roles/secretmanager.secretAccessor on this secret only,
    keyed by a stable name (the key becomes the construct id: members are
    often tokens, unknown until apply)."""
    value_shape: Mapping[str, str]
    """The JSON keys the value must have, each with a description. Printed
    in the fill-in command; never a value."""
    description: str


class ManagedSecret(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: ManagedSecretProps) -> None:
        super().__init__(scope, id_)
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", props.secret_id):
            raise ValueError(f"ManagedSecret: invalid secret_id {props.secret_id!r}")
        if not props.accessors:
            raise ValueError(f"ManagedSecret {props.secret_id}: no accessor; nobody could read it")
        if not props.value_shape:
            raise ValueError(f"ManagedSecret {props.secret_id}: value_shape is empty")
        self.secret_id = props.secret_id
        self.secret = SecretManagerSecret(
            self,
            "secret",
            secret_id=props.secret_id,
            replication={
                "user_managed": {
                    "replicas": [
                        SecretManagerSecretReplicationUserManagedReplicas(location=props.region)
                    ]
                }
            },
            annotations={"description": props.description},
        )
        for name, member in sorted(props.accessors.items()):
            SecretManagerSecretIamMember(
                self,
                f"accessor-{slug(name)}",
                secret_id=self.secret.id,
                role="roles/secretmanager.secretAccessor",
                member=member,
            )
        shape = json.dumps(dict(props.value_shape), sort_keys=True)
        self.fill_command = (
            f"gcloud secrets versions add {quote(props.secret_id)} "
            f"--project {quote(props.project_id)} "
            f"--data-file=<file holding JSON {shape}>"
        )
