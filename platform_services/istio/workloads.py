"""Istio's namespaces and the ingress gateway's pods (plain data).

istio gateway 1.30.3: pods labelled istio=<release without "istio-">, service
account = release name.
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
