"""JupyterHub's pods, as the mesh policies name them (plain data).

zero-to-jupyterhub 4.4.0 (jupyterhub/templates): legacy label `component`; the
hub runs as service account "hub"; the proxy Deployment names no service
account of its own, so the platform sets JUPYTERHUB_PROXY_SERVICE_ACCOUNT
through proxy.chp.extraPodSpec (never the namespace's "default", which the
user-placeholder pods and any pod created without one share); user servers run
as the platform's JUPYTER_USER_SERVICE_ACCOUNT (KubeSpawner service_account).
"""

from __future__ import annotations

from platform_builders.workloads import Workload
from platform_services.jupyterhub.values import (
    JUPYTER_USER_SERVICE_ACCOUNT,
    JUPYTERHUB_PROXY_SERVICE_ACCOUNT,
)


def jupyterhub_workloads(namespace: str) -> dict[str, Workload]:
    """proxy, hub and user servers of zero-to-jupyterhub in `namespace`."""
    return {
        "proxy": Workload(
            name="jupyterhub-proxy",
            namespace=namespace,
            selector={"component": "proxy"},
            service_account=JUPYTERHUB_PROXY_SERVICE_ACCOUNT,
            ports=(8000, 8001),
        ),
        "hub": Workload(
            name="jupyterhub-hub",
            namespace=namespace,
            selector={"component": "hub"},
            service_account="hub",
            ports=(8081,),
        ),
        "user": Workload(
            name="jupyterhub-user-server",
            namespace=namespace,
            selector={"component": "singleuser-server"},
            service_account=JUPYTER_USER_SERVICE_ACCOUNT,
            ports=(8888,),
        ),
    }
