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
