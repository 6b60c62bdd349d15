"""Argo CD's pods, as the mesh policies name them (plain data).

argo-cd 10.1.1 (argoproj/argo-helm charts/argo-cd/templates): selector label
app.kubernetes.io/name = <nameOverride "argocd">-<component name>; service
account = <fullnameOverride>-<component> where the chart creates one. The
chart's own NetworkPolicies (global.networkPolicy.create) grant the same
callers as the Istio policies built from this module.
"""

from __future__ import annotations

from platform_builders.workloads import Workload
from platform_services.argocd.values import ARGOCD_FULLNAME

ARGOCD_NAMESPACE = "argocd"
#: Namespaces this service owns whatever the config says (reserved for it).
NAMESPACES = (ARGOCD_NAMESPACE,)


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
