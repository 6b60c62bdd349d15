"""JupyterHub: notebooks for every IAP member, signed in from the gateway's header.

Argo CD runs zero-to-jupyterhub (apps.jupyterhub). The hub's own secrets are
generated once in the cluster; user servers run as a dedicated service account
that the mesh keeps away from the hub's sign-in handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cdktf_cdktf_provider_kubernetes.service_account_v1 import ServiceAccountV1

from platform_config import AppConfig, PlatformConfig
from platform_constructs.iap_ingress import RouteTarget
from platform_services.external_secrets.service import generated_secret_objects
from platform_services.istio import mesh
from platform_services.istio.workloads import GATEWAY, ISTIOD
from platform_services.jupyterhub.values import (
    HUB_SECRET_KEYS,
    HUB_SECRET_NAME,
    JUPYTER_USER_SERVICE_ACCOUNT,
    JUPYTERHUB_IGNORE_DIFFERENCES,
    JUPYTERHUB_PROXY_SERVICE_ACCOUNT,
    GpuPool,
    MlflowAccess,
    jupyterhub_values,
)
from platform_services.jupyterhub.workloads import jupyterhub_workloads
from platform_services.mlflow.workloads import (
    HUB_SERVICE,
    MLFLOW_SERVICE_ACCOUNT,
    mlflow_workload,
    tracking_uri,
)
from platform_services.service import BootstrapContext, ChartAppService, Manifest, allow, by

if TYPE_CHECKING:
    from platform_builders.workloads import Workload
    from stacks.base import PlatformStack

APP = "jupyterhub"


#: The one hub API path MLflow calls: whose is this token
#: (platform_services/mlflow/scripts/platform_mlflow_auth.py).
HUB_WHOAMI_PATH = "/hub/api/user"


def _mlflow(config: PlatformConfig) -> Workload | None:
    """MLflow's pods, None when MLflow is off."""
    if not config.apps.mlflow.enabled:
        return None
    return mlflow_workload(config.app_namespaces["mlflow"], MLFLOW_SERVICE_ACCOUNT)


def notebook_servers(config: PlatformConfig) -> Workload | None:
    """The user servers' pods (callers of other services), None when JupyterHub is off."""
    if not config.apps.jupyterhub.enabled:
        return None
    return jupyterhub_workloads(config.app_namespaces[APP])["user"]


class Service(ChartAppService):
    name = "jupyterhub"

    def applications(self, config: PlatformConfig) -> Mapping[str, AppConfig]:
        return {APP: config.apps.jupyterhub} if config.apps.jupyterhub.enabled else {}

    def secret_objects(self, ctx: BootstrapContext) -> Sequence[Manifest]:
        return generated_secret_objects(
            ctx,
            name=HUB_SECRET_NAME,
            namespace=ctx.config.app_namespaces[APP],
            keys=HUB_SECRET_KEYS,
        )

    def mesh_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        hub = jupyterhub_workloads(config.app_namespaces[APP])
        proxy, hub_pod, user = hub["proxy"], hub["hub"], hub["user"]
        mlflow = _mlflow(config)
        return [
            # Browser traffic enters at the proxy only; the hub configures its routes.
            allow(proxy, by(GATEWAY), ports=[8000]),
            allow(proxy, by(hub_pod), ports=[8001], name=f"{proxy.name}-api-callers"),
            # The hub's sign-in handler trusts the identity header: only the
            # proxy forwards to it. User servers (arbitrary user code) may use
            # the hub's REST API with their own token, nothing else. MLflow
            # asks whose a notebook's token is (/hub/api/user), nothing else.
            allow(
                hub_pod,
                by(proxy),
                by(user, paths=["/hub/api/*"]),
                *([by(mlflow, paths=[HUB_WHOAMI_PATH])] if mlflow is not None else []),
            ),
            allow(user, by(proxy, hub_pod)),
        ]

    def values(self, config: PlatformConfig, name: str, app: AppConfig) -> dict[str, Any]:
        hub = config.apps.jupyterhub
        return jupyterhub_values(
            values_file=hub.values_file,
            admin_users=hub.admin_users,
            storage_size=hub.storage_size,
            cull_idle_minutes=hub.cull_idle_minutes,
            gpu_pools=[
                GpuPool(pool=pool.name, accelerator=pool.gpu.type, count=pool.gpu.count)
                for pool in config.cluster.node_pools
                if pool.gpu is not None
            ],
            identity_header=mesh.IDENTITY_HEADER,
            proxy_principal=jupyterhub_workloads(config.app_namespaces[name])["proxy"].principal,
            istiod=ISTIOD,
            # Notebooks log runs to MLflow: its pods in its namespace, when
            # deployed; MLflow checks notebooks' tokens with the hub.
            mlflow=_mlflow(config),
            mlflow_access=(
                MlflowAccess(
                    service=HUB_SERVICE,
                    tracking_uri=tracking_uri(
                        namespace=config.app_namespaces["mlflow"],
                        service=config.apps.mlflow.service,
                        port=config.apps.mlflow.service_port,
                    ),
                )
                if config.apps.mlflow.enabled
                else None
            ),
            hub_host=config.user_host_parent,
        )

    def routes(self, config: PlatformConfig) -> Mapping[str, RouteTarget]:
        """The hub's host, and every host under it (each user's server, each
        JupyterHub service: subdomain_host) to the same proxy, which routes by host."""
        routes = dict(super().routes(config))
        if routes:
            hub_host = config.app_hosts[APP]
            if hub_host != config.user_host_parent:
                raise ValueError(
                    f"JupyterHub at {hub_host}, its users under {config.user_host_parent}"
                )
            routes[f"*.{hub_host}"] = routes[hub_host]
        return routes

    def ignore_differences(self, name: str) -> Sequence[Mapping[str, Any]]:
        return JUPYTERHUB_IGNORE_DIFFERENCES

    def install(self, stack: PlatformStack, ctx: BootstrapContext) -> None:
        # Both without a Kubernetes API token mounted. User servers run as the
        # first, which the mesh keeps away from the hub's sign-in handler; the
        # second is the proxy's own mesh identity, the only one the hub's
        # sign-in trusts (never the namespace's `default`).
        for construct_id, name in (
            ("jupyter-user-service-account", JUPYTER_USER_SERVICE_ACCOUNT),
            ("jupyterhub-proxy-service-account", JUPYTERHUB_PROXY_SERVICE_ACCOUNT),
        ):
            ServiceAccountV1(
                stack,
                construct_id,
                provider=ctx.kubernetes,
                metadata={"name": name, "namespace": ctx.namespace(ctx.config.app_namespaces[APP])},
                automount_service_account_token=False,
            )
        super().install(stack, ctx)
