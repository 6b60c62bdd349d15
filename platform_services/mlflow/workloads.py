"""MLflow's pods, as the mesh policies name them (plain data).

community-charts mlflow 1.11.5: app.kubernetes.io/name mlflow, container port
5000, service account from serviceAccount.name.
"""

from __future__ import annotations

from platform_builders.workloads import Workload


def mlflow_workload(namespace: str, service_account: str) -> Workload:
    return Workload(
        name="mlflow",
        namespace=namespace,
        selector={"app.kubernetes.io/name": "mlflow"},
        service_account=service_account,
        ports=(5000,),
    )
