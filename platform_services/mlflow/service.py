"""MLflow: experiment tracking, with its bucket and a passwordless Cloud SQL database.

Cluster stack: MlflowStorage (bucket, Cloud SQL with IAM authentication, the
Workload Identity of MLflow's service account and of the grant Job). Bootstrap
stack: the grant Job (a Helm hook, before MLflow starts), then the Application
(apps.mlflow). Callers: the gateway (browsers) and notebooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cdktf import ITerraformDependable

from platform_builders.helm_values import load_values
from platform_builders.workloads import Workload
from platform_config import AppConfig, PlatformConfig
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps
from platform_constructs.service_identity import KubernetesServiceAccountRef
from platform_services.external_secrets.service import generated_secret_objects
from platform_services.istio import mesh
from platform_services.istio.workloads import GATEWAY
from platform_services.jupyterhub.service import notebook_servers
from platform_services.jupyterhub.workloads import jupyterhub_workloads
from platform_services.mlflow.cloud import (
    AUTH_DATABASE_NAME,
    DATABASE_NAME,
    MlflowStorage,
    MlflowStorageProps,
)
from platform_services.mlflow.database_grant import GRANT_SERVICE_ACCOUNT, grant_job_manifests
from platform_services.mlflow.values import (
    AUTH_ADMIN_SECRET_KEYS,
    AUTH_ADMIN_SECRET_NAME,
    MLFLOW_FLASK_SECRET_KEY,
    MLFLOW_FLASK_SECRET_NAME,
    MlflowAuth,
    mlflow_values,
)
from platform_services.mlflow.workloads import (
    HUB_SERVICE,
    MLFLOW_SERVICE_ACCOUNT,
    mlflow_workload,
)
from platform_services.service import (
    BootstrapContext,
    ChartAppService,
    ClusterContext,
    Manifest,
    allow,
    by,
    pods_of,
)

if TYPE_CHECKING:
    from stacks.base import PlatformStack

APP = "mlflow"


def mlflow_auth(config: PlatformConfig) -> MlflowAuth:
    """MLflow's sign-in: the gateway's header, and notebooks' JupyterHub tokens."""
    hub_api_url = ""  # JupyterHub off: no token is accepted.
    if config.apps.jupyterhub.enabled:
        hub = jupyterhub_workloads(config.app_namespaces["jupyterhub"])["hub"]
        hub_api_url = f"http://hub.{hub.namespace}.svc.cluster.local:{hub.ports[0]}/hub/api"
    return MlflowAuth(
        identity_header=mesh.IDENTITY_HEADER,
        gateway_principal=GATEWAY.principal,
        hub_api_url=hub_api_url,
        hub_service=HUB_SERVICE,
        admins=config.apps.mlflow.auth.admins,
        default_permission=config.apps.mlflow.auth.default_permission,
        database=AUTH_DATABASE_NAME,
    )


def mlflow_service_account(config: PlatformConfig) -> KubernetesServiceAccountRef:
    """MLflow's Kubernetes service account, in the namespace Argo CD deploys MLflow into.

    Derived here once: the Workload Identity binding (cluster stack) and the
    chart's service account (bootstrap, via MlflowStorage) both use it.
    """
    return KubernetesServiceAccountRef(
        namespace=config.app_namespaces[APP], name=MLFLOW_SERVICE_ACCOUNT
    )


class Service(ChartAppService):
    name = "mlflow"

    #: Bucket, database and identities; None when MLflow is off.
    storage: MlflowStorage | None = None
    _grant: ManifestBundle | None = None

    def applications(self, config: PlatformConfig) -> Mapping[str, AppConfig]:
        return {APP: config.apps.mlflow} if config.apps.mlflow.enabled else {}

    def provision(self, stack: PlatformStack, ctx: ClusterContext) -> None:
        config = ctx.config
        private_services = ctx.network.private_services
        if private_services is None:
            return
        database = config.apps.mlflow.database
        self.storage = MlflowStorage(
            stack,
            "mlflow",
            props=MlflowStorageProps(
                name=config.names.mlflow,
                bucket_name=config.names.mlflow_bucket,
                project_id=config.project_id,
                region=config.region,
                private_network_id=private_services.connection.network,
                kubernetes_service_account=mlflow_service_account(config),
                tier=database.tier,
                high_availability=database.high_availability,
                disk_size_gb=database.disk_size_gb,
                deletion_protection=database.deletion_protection,
                noncurrent_artifact_retention_days=config.apps.mlflow.artifact_retention_days,
                depends_on=[ctx.gke.cluster],
                grant_service_account=KubernetesServiceAccountRef(
                    namespace=config.app_namespaces[APP], name=GRANT_SERVICE_ACCOUNT
                ),
            ),
        )

    def _workload(self, config: PlatformConfig) -> Workload:
        return mlflow_workload(config.app_namespaces[APP], MLFLOW_SERVICE_ACCOUNT)

    def secret_objects(self, ctx: BootstrapContext) -> Sequence[Manifest]:
        namespace = ctx.config.app_namespaces[APP]
        return [
            *generated_secret_objects(
                ctx,
                name=MLFLOW_FLASK_SECRET_NAME,
                namespace=namespace,
                keys=(MLFLOW_FLASK_SECRET_KEY,),
            ),
            # The chart's admin user: random name and password, made in the cluster.
            *generated_secret_objects(
                ctx, name=AUTH_ADMIN_SECRET_NAME, namespace=namespace, keys=AUTH_ADMIN_SECRET_KEYS
            ),
        ]

    def mesh_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        notebooks = notebook_servers(config)
        # Notebooks log runs to MLflow from inside the cluster.
        return [
            allow(
                self._workload(config),
                by(GATEWAY),
                *([by(notebooks)] if notebooks is not None else []),
            )
        ]

    def network_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        mlflow = self._workload(config)
        notebooks = notebook_servers(config)
        sources = [pods_of(GATEWAY), *([pods_of(notebooks)] if notebooks is not None else [])]
        return [
            mesh.network_policy(
                name="mlflow-callers",
                namespace=mlflow.namespace,
                selector=mlflow.selector,
                ports=mlflow.ports,
                sources=sources,
            )
        ]

    def facts(self, config: PlatformConfig) -> Mapping[str, str]:
        facts = dict(super().facts(config))
        if self.storage is not None:
            facts |= {
                "mlflow_gcp_service_account": self.storage.identity.email_address,
                "mlflow_bucket": self.storage.bucket_name,
                "mlflow_cloudsql_connection_name": self.storage.instance_connection_name,
            }
        return facts

    def values(self, config: PlatformConfig, name: str, app: AppConfig) -> dict[str, Any]:
        storage = self.storage
        if storage is None:
            return load_values(app.values_file)
        return mlflow_values(
            values_file=config.apps.mlflow.values_file,
            # The account Workload Identity trusts, in the app's namespace.
            service_account_name=storage.kubernetes_service_account.name,
            gcp_service_account=storage.identity.email_address,
            artifact_bucket=storage.bucket_name,
            sql_instance_connection_name=storage.instance_connection_name,
            database=DATABASE_NAME,
            database_user=storage.database_user_name,
            public_host=config.app_hosts[name],
            auth=mlflow_auth(config),
        )

    def application_dependencies(
        self, ctx: BootstrapContext, name: str
    ) -> Sequence[ITerraformDependable]:
        return [self._grant.release] if self._grant is not None else []

    def install(self, stack: PlatformStack, ctx: BootstrapContext) -> None:
        storage = self.storage
        if storage is not None and storage.grant_identity is not None:
            # MLflow's database grant, inside the deploy (before MLflow starts).
            namespace = ctx.namespace(ctx.config.app_namespaces[APP])
            self._grant = ManifestBundle(
                stack,
                "mlflow-database-grant",
                props=ManifestBundleProps(
                    release_name="mlflow-database-grant",
                    namespace=namespace,
                    manifests=grant_job_manifests(
                        namespace=namespace,
                        gcp_service_account=storage.grant_identity.email_address,
                        project_id=ctx.config.project_id,
                        instance=storage.instance_name,
                        connection_name=storage.instance_connection_name,
                        database=DATABASE_NAME,
                        database_user=storage.database_user_name,
                        other_databases=(AUTH_DATABASE_NAME,),
                    ),
                    provider=ctx.helm,
                    depends_on=[ctx.namespaces[ctx.config.app_namespaces[APP]]],
                    # Two Cloud SQL user updates and the proxy's start.
                    timeout_seconds=900,
                ),
            )
        super().install(stack, ctx)
