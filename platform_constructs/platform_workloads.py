"""The pods of the pinned charts that the mesh policies name (plain data, no cdktf).

Labels, service accounts and container ports are read from the charts'
templates at the pinned versions, not guessed:
- argo-cd 10.1.1 (argoproj/argo-helm charts/argo-cd/templates): selector
  label app.kubernetes.io/name = <nameOverride "argocd">-<component name>;
  service account = <fullnameOverride>-<component> where the chart creates
  one. The chart's own NetworkPolicies (global.networkPolicy.create) grant the
  same callers as the Istio policies built from this module.
- zero-to-jupyterhub 4.4.0 (jupyterhub/templates): legacy label `component`;
  the hub runs as service account "hub"; the proxy Deployment names no service
  account, so it runs as the namespace's "default"; user servers run as the
  platform's JUPYTER_USER_SERVICE_ACCOUNT (KubeSpawner service_account).
- community-charts mlflow 1.11.5: app.kubernetes.io/name mlflow, container
  port 5000, service account from serviceAccount.name.
- istio gateway 1.30.3: pods labelled istio=<release without "istio-">,
  service account = release name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from platform_constructs.app_values import JUPYTER_USER_SERVICE_ACCOUNT
from platform_constructs.argocd_values import ARGOCD_FULLNAME


@dataclass(frozen=True, kw_only=True)
class Workload:
    """One kind of pod: how policies select it and the identity it calls with."""

    name: str
    namespace: str
    selector: Mapping[str, str]
    service_account: str
    ports: tuple[int, ...] = field(default=())
    """Ports it serves (container ports, as AuthorizationPolicies see them)."""

    @property
    def principal(self) -> str:
        return f"cluster.local/ns/{self.namespace}/sa/{self.service_account}"


GATEWAY_NAMESPACE = "istio-ingress"
GATEWAY_RELEASE = "istio-gateway"
GATEWAY = Workload(
    name="istio-gateway",
    namespace=GATEWAY_NAMESPACE,
    selector={"istio": "gateway"},
    service_account=GATEWAY_RELEASE,
    ports=(80,),
)

ARGOCD_NAMESPACE = "argocd"


def _argocd(component: str, ports: tuple[int, ...] = ()) -> Workload:
    return Workload(
        name=f"{ARGOCD_FULLNAME}-{component}",
        namespace=ARGOCD_NAMESPACE,
        selector={"app.kubernetes.io/name": f"argocd-{component}"},
        service_account=f"{ARGOCD_FULLNAME}-{component}",
        ports=ports,
    )


ARGOCD_SERVER = _argocd("server", (8080,))
ARGOCD_DEX = _argocd("dex-server", (5556, 5557))
ARGOCD_REPO_SERVER = _argocd("repo-server", (8081,))
ARGOCD_REDIS = Workload(
    name=f"{ARGOCD_FULLNAME}-redis",
    namespace=ARGOCD_NAMESPACE,
    selector={"app.kubernetes.io/name": "argocd-redis"},
    # redis.serviceAccount.create defaults to false in the chart: "default".
    service_account="default",
    ports=(6379,),
)
ARGOCD_CONTROLLER = _argocd("application-controller")
ARGOCD_APPLICATIONSET = _argocd("applicationset-controller")
ARGOCD_NOTIFICATIONS = _argocd("notifications-controller")


def jupyterhub_workloads(namespace: str) -> dict[str, Workload]:
    """proxy, hub and user servers of zero-to-jupyterhub in `namespace`."""
    return {
        "proxy": Workload(
            name="jupyterhub-proxy",
            namespace=namespace,
            selector={"component": "proxy"},
            service_account="default",
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


def mlflow_workload(namespace: str, service_account: str) -> Workload:
    return Workload(
        name="mlflow",
        namespace=namespace,
        selector={"app.kubernetes.io/name": "mlflow"},
        service_account=service_account,
        ports=(5000,),
    )
