"""cluster stack: private GKE, identities, secrets, IAP access, MLflow data."""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from platform_config import PlatformConfig
from platform_constructs.iap_web_access import IapWebAccess, IapWebAccessProps
from platform_constructs.managed_secret import ManagedSecret, ManagedSecretProps
from platform_constructs.private_gke_cluster import (
    BastionSpec,
    NodePoolSpec,
    PrivateGkeCluster,
    PrivateGkeClusterProps,
)
from platform_constructs.private_vpc import PODS_RANGE_NAME, SERVICES_RANGE_NAME
from platform_constructs.service_identity import (
    KubernetesServiceAccountRef,
    ServiceIdentity,
    ServiceIdentityProps,
)
from platform_services.mlflow.cloud import MlflowStorage, MlflowStorageProps
from platform_services.mlflow.database_grant import GRANT_SERVICE_ACCOUNT
from stacks.base import PlatformStack
from stacks.network import NetworkStack

#: Kubernetes service accounts that act as Google identities (Workload Identity).
EXTERNAL_SECRETS_KSA = KubernetesServiceAccountRef(
    namespace="external-secrets", name="external-secrets"
)
#: The service account MLflow's chart creates (serviceAccount.name).
MLFLOW_SERVICE_ACCOUNT = "mlflow"


def mlflow_service_account(config: PlatformConfig) -> KubernetesServiceAccountRef:
    """MLflow's Kubernetes service account, in the namespace Argo CD deploys MLflow into.

    Derived here once: the Workload Identity binding (this stack) and the
    chart's service account (bootstrap, via MlflowStorage) both use it.
    """
    return KubernetesServiceAccountRef(
        namespace=config.app_namespaces["mlflow"], name=MLFLOW_SERVICE_ACCOUNT
    )


#: Secret Manager secret ids (per environment) and the JSON each one holds.
REPO_CREDENTIALS_SHAPES = {
    "ssh": {"sshPrivateKey": "a read-only deploy key (PEM)"},
    "https": {"username": "any non-empty user", "password": "a read-only access token"},
}
OIDC_CLIENT_SHAPE = {
    "clientID": "<id>.apps.googleusercontent.com",
    "clientSecret": "the OAuth client's secret",
}


class ClusterStack(PlatformStack):
    def __init__(self, scope: Construct, *, config: PlatformConfig, network: NetworkStack) -> None:
        super().__init__(scope, "cluster", config=config)

        self.gke = PrivateGkeCluster(
            self,
            "gke",
            props=PrivateGkeClusterProps(
                name=config.names.gke_cluster,
                project_id=config.project_id,
                location=config.region,
                network_id=network.vpc.network.id,
                subnet_id=network.vpc.subnet.id,
                subnet_cidr=config.network.subnet_cidr,
                pods_range_name=PODS_RANGE_NAME,
                services_range_name=SERVICES_RANGE_NAME,
                control_plane_access=config.cluster.control_plane_access,
                release_channel=config.cluster.release_channel,
                deletion_protection=config.cluster.deletion_protection,
                labels={**config.labels, "environment": config.environment},
                node_pools=[
                    NodePoolSpec(
                        name=pool.name,
                        machine_type=pool.machine_type,
                        min_nodes=pool.min_nodes,
                        max_nodes=pool.max_nodes,
                        spot=pool.spot,
                        disk_size_gb=pool.disk_size_gb,
                        gpu_type=pool.gpu.type if pool.gpu else None,
                        gpu_count=pool.gpu.count if pool.gpu else 1,
                        zones=pool.zones,
                    )
                    for pool in config.cluster.node_pools
                ],
                bastion=BastionSpec(
                    zone=config.bastion_zone,
                    machine_type=config.cluster.bastion.machine_type,
                    members=config.access.bastion_members,
                )
                if config.bastion_mode
                else None,
            ),
        )

        # External Secrets reads Secret Manager as this identity, and only the
        # secrets below (per-secret IAM, no project-wide accessor role).
        self.external_secrets_identity = ServiceIdentity(
            self,
            "external-secrets-identity",
            props=ServiceIdentityProps(
                project_id=config.project_id,
                account_id=config.names.external_secrets_service_account,
                display_name="External Secrets Operator (Secret Manager reader)",
                workload_identity_user=EXTERNAL_SECRETS_KSA,
                depends_on=[self.gke.cluster],
            ),
        )
        secret_readers = {"external-secrets": self.external_secrets_identity.member}
        self.secrets: dict[str, ManagedSecret] = {}
        if config.gitops.needs_credentials:
            kind = "https" if config.gitops.repo_url.startswith("https://") else "ssh"
            self.secrets["repo-credentials"] = ManagedSecret(
                self,
                "argocd-repo-credentials",
                props=ManagedSecretProps(
                    secret_id=config.names.repo_credentials_secret,
                    project_id=config.project_id,
                    region=config.region,
                    accessors=secret_readers,
                    value_shape=REPO_CREDENTIALS_SHAPES[kind],
                    description=f"Argo CD credentials for {config.gitops.repo_url}",
                ),
            )
        if config.access.argocd_sign_in == "google_oidc":
            self.secrets["oidc-client"] = ManagedSecret(
                self,
                "argocd-oidc-client",
                props=ManagedSecretProps(
                    secret_id=config.names.oidc_client_secret,
                    project_id=config.project_id,
                    region=config.region,
                    accessors=secret_readers,
                    value_shape=OIDC_CLIENT_SHAPE,
                    description=(
                        f"Google OAuth client for Argo CD; redirect URI "
                        f"https://{config.argocd_host}/api/dex/callback"
                    ),
                ),
            )

        IapWebAccess(
            self,
            "iap-access",
            props=IapWebAccessProps(
                project_id=config.project_id, members=config.access.iap_members
            ),
        )
        self.mlflow = (
            MlflowStorage(
                self,
                "mlflow",
                props=MlflowStorageProps(
                    name=config.names.mlflow,
                    bucket_name=config.names.mlflow_bucket,
                    project_id=config.project_id,
                    region=config.region,
                    private_network_id=network.private_services.connection.network,
                    kubernetes_service_account=mlflow_service_account(config),
                    tier=config.apps.mlflow.database.tier,
                    high_availability=config.apps.mlflow.database.high_availability,
                    disk_size_gb=config.apps.mlflow.database.disk_size_gb,
                    deletion_protection=config.apps.mlflow.database.deletion_protection,
                    noncurrent_artifact_retention_days=config.apps.mlflow.artifact_retention_days,
                    depends_on=[self.gke.cluster],
                    grant_service_account=KubernetesServiceAccountRef(
                        namespace=config.app_namespaces["mlflow"], name=GRANT_SERVICE_ACCOUNT
                    ),
                ),
            )
            if config.apps.mlflow.enabled and network.private_services is not None
            else None
        )

        self._outputs(config)

    def _outputs(self, config: PlatformConfig) -> None:
        gke = self.gke
        TerraformOutput(self, "cluster_name", value=gke.cluster.name)
        TerraformOutput(self, "cluster_location", value=gke.cluster.location)
        TerraformOutput(
            self,
            "cluster_endpoint",
            value=gke.endpoint,
            description="DNS-based endpoint (dns mode) or private IP (bastion mode).",
        )
        TerraformOutput(self, "get_credentials_command", value=gke.get_credentials_command)
        if gke.bastion is not None:
            TerraformOutput(
                self,
                "tunnel_command",
                value=gke.bastion.tunnel_command,
                description=f"Opens the IAP tunnel; then HTTPS_PROXY={gke.bastion.proxy_url}",
            )
        TerraformOutput(
            self,
            "secrets_to_fill",
            value={name: secret.fill_command for name, secret in sorted(self.secrets.items())},
            description="Add each secret's value (never through Terraform) before Argo CD syncs.",
        )
        steps = ["`make deploy` continues with the bootstrap stack"]
        if self.secrets:
            steps.append(
                "fill the secrets in secrets_to_fill (the bootstrap stack's next_step lists "
                "everything left)"
            )
        self.next_step("Cluster ready. Next: " + "; then ".join(steps) + ".")
