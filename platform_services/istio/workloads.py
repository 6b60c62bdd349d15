"""Istio's namespaces, istiod and the ingress gateway's pods (plain data).

istio gateway 1.30.3: pods labelled istio=<release without "istio-">, service
account = release name. istiod 1.30.3 (default revision): pods labelled
app=istiod, service account istiod; every sidecar fetches its configuration
and certificate from it on 15012 (xDS + CA, mTLS).
"""

from __future__ import annotations

from platform_builders.workloads import Workload

ISTIO_NAMESPACE = "istio-system"
GATEWAY_NAMESPACE = "istio-ingress"
GATEWAY_RELEASE = "istio-gateway"
#: Namespaces this service owns whatever the config says (reserved for it).
NAMESPACES = (ISTIO_NAMESPACE, GATEWAY_NAMESPACE)
GATEWAY = Workload(
    name="istio-gateway",
    namespace=GATEWAY_NAMESPACE,
    selector={"istio": "gateway"},
    service_account=GATEWAY_RELEASE,
    ports=(80,),
)
ISTIOD = Workload(
    name="istiod",
    namespace=ISTIO_NAMESPACE,
    selector={"app": "istiod"},
    service_account="istiod",
    ports=(15012,),
)
