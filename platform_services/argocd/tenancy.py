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


# --------------------------------------------------------------------------- admission
# ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1, GA since
# Kubernetes 1.30; GKE's channels run 1.31+). A second wall behind the team
# AppProject: they hold whoever writes the object (Argo CD's controller, whose
# ClusterRole is `*`, or a team service account given RBAC by a RoleBinding).
# The expressions use only standard CEL (has, in, size, startsWith, all, the
# conditional): no Kubernetes CEL library function.

ADMISSION_API = "admissionregistration.k8s.io/v1"
#: Labels of a team namespace only the platform may set.
OWNED_LABELS = (
    TENANT_LABEL,
    *(
        f"pod-security.kubernetes.io/{mode}{suffix}"
        for mode in ("enforce", "warn", "audit")
        for suffix in ("", "-version")
    ),
)
#: Kubernetes' own endpoint writers (kube-controller-manager, with and without
#: --use-service-account-credentials; GKE uses per-controller accounts).
ENDPOINT_CONTROLLERS = (
    "system:serviceaccount:kube-system:endpoint-controller",
    "system:serviceaccount:kube-system:endpointslice-controller",
    "system:serviceaccount:kube-system:endpointslicemirroring-controller",
    "system:kube-controller-manager",
)
_IN_TEAM_NAMESPACE = {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}


def _cel_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{value}'" for value in values) + "]"


#: Stands for a missing label: no label value can hold '<' (so '' stays a value).
ABSENT = "<absent>"


def _has_label(obj: str, key: str) -> str:
    """CEL: obj carries label `key` (a CEL string expression). oldObject is null
    on CREATE: told by the operation, not by comparing a map with null (which
    needs CEL's heterogeneous equality, an engine difference)."""
    guard = "request.operation != 'CREATE' && " if obj == "oldObject" else ""
    return f"({guard}has({obj}.metadata.labels) && {key} in {obj}.metadata.labels)"


def _label(obj: str, key: str) -> str:
    """CEL: the value of label `key` on obj, ABSENT when it has none."""
    return f"({_has_label(obj, key)} ? {obj}.metadata.labels[{key}] : '{ABSENT}')"


def _policy(name: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy and its binding (Deny), named alike."""
    return [
        {
            "apiVersion": ADMISSION_API,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "platform"}},
            "spec": {"failurePolicy": "Fail", **spec},
        },
        {
            "apiVersion": ADMISSION_API,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "platform"}},
            "spec": {"policyName": name, "validationActions": ["Deny"]},
        },
    ]


def admission_policies() -> list[dict[str, Any]]:
    """Team namespaces (TENANT_LABEL): no way around the IAP door, no
    hand-written endpoints; team namespaces: platform-owned labels unchanged."""
    write = ["CREATE", "UPDATE"]
    services = _policy(
        "team-services-stay-inside",
        {
            "matchConstraints": {
                "namespaceSelector": _IN_TEAM_NAMESPACE,
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": write,
                        "resources": ["services"],
                    }
                ],
            },
            "validations": [
                {
                    "expression": "!has(object.spec.type) || "
                    "!(object.spec.type in ['LoadBalancer', 'NodePort'])",
                    "message": "team Services are ClusterIP: the platform's IAP door is the "
                    "only way in (no LoadBalancer, no NodePort)",
                    "reason": "Forbidden",
                },
                {
                    "expression": "!has(object.spec.externalIPs) || "
                    "size(object.spec.externalIPs) == 0",
                    "message": "team Services take no externalIPs",
                    "reason": "Forbidden",
                },
            ],
        },
    )
    endpoints = _policy(
        "team-endpoints-by-kubernetes-only",
        {
            "matchConstraints": {
                "namespaceSelector": _IN_TEAM_NAMESPACE,
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": write,
                        "resources": ["endpoints"],
                    },
                    {
                        "apiGroups": ["discovery.k8s.io"],
                        "apiVersions": ["v1"],
                        "operations": write,
                        "resources": ["endpointslices"],
                    },
                ],
            },
            "validations": [
                {
                    "expression": "request.userInfo.username in " + _cel_list(ENDPOINT_CONTROLLERS),
                    "message": "in team namespaces only Kubernetes' endpoint controllers "
                    "write Endpoints and EndpointSlices (no selectorless Service with "
                    "hand-written addresses)",
                    "reason": "Forbidden",
                }
            ],
        },
    )
    tenant = " || ".join(_has_label(obj, repr(TENANT_LABEL)) for obj in ("oldObject", "object"))
    labels = _policy(
        "team-namespace-labels-are-the-platforms",
        {
            # Not a namespaceSelector: for a Namespace it reads the NEW object's
            # labels, so removing the tenant label would unselect the request.
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": write,
                        "resources": ["namespaces"],
                    }
                ]
            },
            # In-cluster identities (Argo CD's controller, any workload); Terraform
            # runs as the operator's Google account.
            "matchConditions": [
                {
                    "name": "service-accounts",
                    "expression": "request.userInfo.username.startsWith('system:serviceaccount:')",
                },
                {"name": "team-namespaces", "expression": tenant},
            ],
            "validations": [
                {
                    "expression": f"{_cel_list(OWNED_LABELS)}.all(key, "
                    f"{_label('object', 'key')} == {_label('oldObject', 'key')})",
                    "message": "a team namespace's tenant and Pod Security labels are the "
                    "platform's (set by Terraform)",
                    "reason": "Forbidden",
                }
            ],
        },
    )
    return [*services, *endpoints, *labels]


def quota_objects(namespace: str, quota: Any) -> list[dict[str, Any]]:
    """ResourceQuota and LimitRange of a team namespace (quota: TeamQuota). The
    LimitRange gives containers without requests/limits small defaults, so the
    quota (which then requires them) never refuses an ordinary pod for that."""
    meta = {"namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "platform"}}
    return [
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "team-quota", **meta},
            "spec": {
                "hard": {
                    "requests.cpu": quota.cpu,
                    "limits.cpu": quota.cpu,
                    "requests.memory": quota.memory,
                    "limits.memory": quota.memory,
                    "requests.storage": quota.storage,
                    "pods": str(quota.pods),
                    "services": str(quota.services),
                    "services.loadbalancers": "0",
                    "services.nodeports": "0",
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "team-defaults", **meta},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        "default": {"cpu": "500m", "memory": "512Mi"},
                    }
                ]
            },
        },
    ]
