"""A team's namespaces, owned by the platform (issue 22; docs/security.md, "Tenants").

The platform creates every namespace a team deploys into (gitops.namespaces
and gitops.applications_namespace) with labels only it sets:

- Pod Security Admission at `restricted` (enforce, warn, audit; no version
  label: the cluster's own). Without these labels a namespace runs at the
  cluster default, `privileged`, and whoever writes the Namespace object picks
  the level; the team's AppProject admits no Namespace object.
- TENANT_LABEL naming the team: admission policies select team namespaces by it.
- `istio-injection: disabled`: team namespaces stay out of the mesh. Istio's
  injected init container (istio-init) needs NET_ADMIN and NET_RAW, which
  `restricted` (and `baseline`) refuse, so an injected pod could not start;
  Istio CNI (which removes that container) is out of scope. Team pods have no
  mesh identity, so the platform's deny-by-default namespaces (mTLS STRICT,
  allow-nothing) refuse them whatever the network allows.

Each namespace also gets a default-deny NetworkPolicy (ingress and egress) and
one egress rule to the cluster's DNS; the team opens more with NetworkPolicies
of its own (an allowed kind: policies add up, so a team may open its own pods'
egress, never the platform's ingress).
"""

from __future__ import annotations

from typing import Any

#: Label key the platform alone sets on a team's namespaces (value: the team).
TENANT_LABEL = "mlops-platform/tenant"
POD_SECURITY_LEVEL = "restricted"
#: GKE's kube-dns pods (also under Dataplane V2).
KUBE_DNS = {"k8s-app": "kube-dns"}


def namespace_labels(team: str) -> dict[str, str]:
    """The platform-owned labels of a team's namespace."""
    return {
        TENANT_LABEL: team,
        **{
            f"pod-security.kubernetes.io/{mode}": POD_SECURITY_LEVEL
            for mode in ("enforce", "warn", "audit")
        },
    }


def network_policies(namespace: str) -> list[dict[str, Any]]:
    """Default deny (every pod, both directions), then DNS egress to kube-dns."""
    meta = {"namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "platform"}}
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", **meta},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "dns-egress", **meta},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": dict(KUBE_DNS)},
                            }
                        ],
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                        ],
                    }
                ],
            },
        },
    ]
