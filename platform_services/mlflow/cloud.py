"""MlflowStorage: MLflow's artifact bucket and its private, passwordless database.

- Artifacts: a GCS bucket with uniform access, public access prevention
  enforced and versioning, written by MLflow's own identity only.
- Backend store: Cloud SQL for PostgreSQL with a private IP only (no public
  IP, TLS required), backups with point-in-time recovery, deletion
  protection, and IAM database authentication: MLflow's Google service
  account is the database user and logs in through the Cloud SQL Auth Proxy
  with short-lived tokens. There is no password to store or leak.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_google.project_iam_custom_role import ProjectIamCustomRole
from cdktf_cdktf_provider_google.project_iam_member import ProjectIamMember
from cdktf_cdktf_provider_google.sql_database import SqlDatabase
from cdktf_cdktf_provider_google.sql_database_instance import (
    SqlDatabaseInstance,
    SqlDatabaseInstanceSettingsDatabaseFlags,
)
from cdktf_cdktf_provider_google.sql_user import SqlUser
from cdktf_cdktf_provider_google.storage_bucket import (
    StorageBucket,
    StorageBucketLifecycleRule,
)
from cdktf_cdktf_provider_google.storage_bucket_iam_member import StorageBucketIamMember
from constructs import Construct

from platform_constructs.service_identity import (
    KubernetesServiceAccountRef,
    ServiceIdentity,
    ServiceIdentityProps,
)
from platform_services.mlflow.database_grant import (
    GRANT_PERMISSIONS,
    GRANT_UNCONDITIONAL_PERMISSIONS,
)

DATABASE_NAME = "mlflow"
#: MLflow's auth database (users and permissions), on the same instance.
AUTH_DATABASE_NAME = "mlflow_auth"

#: Logging flags checkov (CIS) expects, and that help when debugging access.
POSTGRES_FLAGS = {
    "cloudsql.iam_authentication": "on",
    "log_checkpoints": "on",
    "log_connections": "on",
    "log_disconnections": "on",
    "log_duration": "on",
    "log_hostname": "on",
    "log_lock_waits": "on",
    "log_min_messages": "error",
    "log_temp_files": "0",
    "log_min_duration_statement": "-1",
    "log_min_error_statement": "error",
    "log_statement": "ddl",
    "cloudsql.enable_pgaudit": "on",
}


@dataclass(frozen=True, kw_only=True)
class MlflowStorageProps:
    name: str
    """The Cloud SQL instance name and MLflow's service account id (6-30
    characters, used as is: the config layer computes and checks it)."""
    bucket_name: str
    """The artifact bucket: globally unique, 3-63 characters."""
    project_id: str
    region: str
    private_network_id: str
    """The VPC, peered with Google's services network (PrivateServicesAccess)."""
    kubernetes_service_account: KubernetesServiceAccountRef
    tier: str = "db-custom-1-3840"
    high_availability: bool = False
    disk_size_gb: int = 20
    deletion_protection: bool = True
    noncurrent_artifact_retention_days: int | None = None
    depends_on: Sequence[ITerraformDependable] = ()
    """The cluster: Workload Identity bindings need its identity pool."""
    grant_service_account: KubernetesServiceAccountRef | None = None
    """The database grant Job's Kubernetes service account
    (platform_services/mlflow/database_grant.py): it gets a Google identity
    that may connect to this instance only, and update Cloud SQL users. None: no Job."""


class MlflowStorage(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: MlflowStorageProps) -> None:
        super().__init__(scope, id_)
        if props.disk_size_gb < 10:
            raise ValueError("MlflowStorage: disk_size_gb must be at least 10")
        days = props.noncurrent_artifact_retention_days
        if days is not None and days < 1:
            raise ValueError(
                "MlflowStorage: noncurrent_artifact_retention_days must be >= 1 or None, "
                f"got {days}"
            )
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]", props.bucket_name):
            raise ValueError(
                f"MlflowStorage: bucket_name {props.bucket_name!r} is not a GCS bucket name "
                "(3-63 lowercase letters, digits, '-', '_' or '.')"
            )
        #: The Kubernetes service account that may act as `identity`: MLflow
        #: must run as exactly this account, in exactly this namespace.
        self.kubernetes_service_account = props.kubernetes_service_account
        self.identity = ServiceIdentity(
            self,
            "identity",
            props=ServiceIdentityProps(
                project_id=props.project_id,
                account_id=props.name,
                display_name="MLflow tracking server",
                # instanceUser: IAM database login; client: connect via the proxy.
                project_roles=("roles/cloudsql.client", "roles/cloudsql.instanceUser"),
                workload_identity_user=props.kubernetes_service_account,
                depends_on=props.depends_on,
            ),
        )

        self.bucket_name = props.bucket_name
        self.bucket = StorageBucket(
            self,
            "artifacts",
            name=self.bucket_name,
            location=props.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            force_destroy=False,
            lifecycle_rule=[
                StorageBucketLifecycleRule(
                    action={"type": "Delete"},
                    condition={
                        "days_since_noncurrent_time": props.noncurrent_artifact_retention_days
                    },
                )
            ]
            if props.noncurrent_artifact_retention_days
            else None,
        )
        StorageBucketIamMember(
            self,
            "artifacts-object-user",
            bucket=self.bucket.name,
            role="roles/storage.objectUser",
            member=self.identity.member,
        )

        self.instance = SqlDatabaseInstance(
            self,
            "database-instance",
            name=props.name,
            region=props.region,
            database_version="POSTGRES_18",
            deletion_protection=props.deletion_protection,
            settings={
                "tier": props.tier,
                "edition": "ENTERPRISE",
                "availability_type": "REGIONAL" if props.high_availability else "ZONAL",
                "disk_size": props.disk_size_gb,
                "disk_autoresize": True,
                "deletion_protection_enabled": props.deletion_protection,
                "ip_configuration": {
                    "ipv4_enabled": False,
                    "private_network": props.private_network_id,
                    # The Auth Proxy presents a client certificate; nothing else gets in.
                    "ssl_mode": "TRUSTED_CLIENT_CERTIFICATE_REQUIRED",
                },
                "backup_configuration": {
                    "enabled": True,
                    "point_in_time_recovery_enabled": True,
                    "start_time": "02:00",
                },
                "insights_config": {"query_insights_enabled": True},
                "database_flags": [
                    SqlDatabaseInstanceSettingsDatabaseFlags(name=name, value=value)
                    for name, value in POSTGRES_FLAGS.items()
                ],
                "user_labels": {"app": "mlflow"},
            },
        )
        self.database = SqlDatabase(
            self, "database", name=DATABASE_NAME, instance=self.instance.name
        )
        self.auth_database = SqlDatabase(
            self, "auth-database", name=AUTH_DATABASE_NAME, instance=self.instance.name
        )
        # Cloud SQL names an IAM service-account user after the account's
        # email without the ".gserviceaccount.com" suffix.
        self.database_user_name = f"{self.identity.account_id}@{props.project_id}.iam"
        self.database_user = SqlUser(
            self,
            "database-user",
            instance=self.instance.name,
            name=self.database_user_name,
            type="CLOUD_IAM_SERVICE_ACCOUNT",
            depends_on=[self.identity.account],
        )
        self.instance_connection_name = f"{props.project_id}:{props.region}:{props.name}"
        self.instance_name = props.name
        self.grant_identity = (
            self._grant_identity(props, props.grant_service_account)
            if props.grant_service_account is not None
            else None
        )

    def _grant_identity(
        self, props: MlflowStorageProps, ksa: KubernetesServiceAccountRef
    ) -> ServiceIdentity:
        """The grant Job's identity: a custom role with GRANT_PERMISSIONS, bound
        on the project under an IAM condition naming this instance, so it can
        connect to no other instance (roles/cloudsql.client alone would allow
        every instance of the project); and a second custom role with
        GRANT_UNCONDITIONAL_PERMISSIONS, bound without a condition, for the
        calls IAM does not check on an instance (users.update, operations.get:
        database_grant.ADMIN_API_CALLS says why)."""
        identity = ServiceIdentity(
            self,
            "grant-identity",
            props=ServiceIdentityProps(
                project_id=props.project_id,
                account_id=f"{props.name}-dbgrant"[-30:].lstrip("-"),
                display_name="MLflow database grant Job",
                workload_identity_user=ksa,
                depends_on=props.depends_on,
            ),
        )
        role = ProjectIamCustomRole(
            self,
            "grant-role",
            project=props.project_id,
            role_id=f"{props.name.replace('-', '_')}_database_grant",
            title=f"{props.name} database grant",
            description="Set the postgres password of one Cloud SQL instance and connect to it",
            permissions=list(GRANT_PERMISSIONS),
        )
        ProjectIamMember(
            self,
            "grant-role-member",
            project=props.project_id,
            role=role.name,
            member=identity.member,
            condition={
                "title": f"only {props.name}",
                "description": "The MLflow database instance, nothing else",
                "expression": (
                    f'resource.name == "projects/{props.project_id}/instances/{props.name}"'
                ),
            },
        )
        unconditional = ProjectIamCustomRole(
            self,
            "grant-unconditional-role",
            project=props.project_id,
            role_id=f"{props.name.replace('-', '_')}_database_grant_users",
            title=f"{props.name} database grant (users)",
            description=(
                "Set a Cloud SQL user's password and wait for the operation; IAM cannot "
                "condition these on an instance"
            ),
            permissions=list(GRANT_UNCONDITIONAL_PERMISSIONS),
        )
        ProjectIamMember(
            self,
            "grant-unconditional-role-member",
            project=props.project_id,
            role=unconditional.name,
            member=identity.member,
        )
        return identity
