"""MLflow's pods, as the mesh policies name them (plain data).

community-charts mlflow 1.11.5: app.kubernetes.io/name mlflow, container port
5000, service account from serviceAccount.name.
"""

from __future__ import annotations

from platform_builders.workloads import Workload

#: The service account MLflow's chart creates (serviceAccount.name).
MLFLOW_SERVICE_ACCOUNT = "mlflow"


def mlflow_workload(namespace: str, service_account: str) -> Workload:
    return Workload(
        name="mlflow",
        namespace=namespace,
        selector={"app.kubernetes.io/name": "mlflow"},
        service_account=service_account,
        ports=(5000,),
    )


#: MLflow's name as a JupyterHub service: notebook tokens carry
#: access:services!service=<this> (platform_services/jupyterhub/mlflow_access.py).
HUB_SERVICE = "mlflow"


def tracking_uri(*, namespace: str, service: str, port: int) -> str:
    """MLflow's in-cluster URL, as notebooks use it (the chart's Service)."""
    return f"http://{service}.{namespace}.svc.cluster.local:{port}"
