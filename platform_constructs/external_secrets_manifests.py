"""Builders for External Secrets Operator objects (plain dicts, no cdktf)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SECRET_STORE_NAME = "gcp-secret-manager"


def cluster_secret_store(
    *,
    project_id: str,
    cluster_name: str,
    cluster_location: str,
    service_account_name: str,
    service_account_namespace: str,
    namespaces: Sequence[str],
) -> dict[str, Any]:
    """Secret Manager through Workload Identity of ESO's own service account.

    `namespaces`: the only namespaces whose ExternalSecrets may use the store
    (spec.conditions); an ExternalSecret anywhere else is refused, so no app
    namespace can read the GitOps deploy key or the OIDC client.
    """
    if not namespaces:
        raise ValueError("cluster_secret_store: name the namespaces that may use it")
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": SECRET_STORE_NAME},
        "spec": {
            "conditions": [{"namespaces": sorted(set(namespaces))}],
            "provider": {
                "gcpsm": {
                    "projectID": project_id,
                    "auth": {
                        "workloadIdentity": {
                            "serviceAccountRef": {
                                "name": service_account_name,
                                "namespace": service_account_namespace,
                            },
                            "clusterLocation": cluster_location,
                            "clusterName": cluster_name,
                            "clusterProjectID": project_id,
                        }
                    },
                }
            },
        },
    }


def external_secret(
    *,
    name: str,
    namespace: str,
    secret_id: str,
    target_name: str,
    labels: Mapping[str, str],
    data: Mapping[str, str],
) -> dict[str, Any]:
    """Sync one Secret Manager secret (a JSON object) into a Kubernetes Secret.

    Every JSON key is available to `data` templates as {{ .key }}; `labels`
    are what the consuming operator keys on (e.g. Argo CD's secret-type).
    """
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": SECRET_STORE_NAME},
            "target": {
                "name": target_name,
                "creationPolicy": "Owner",
                "template": {
                    "engineVersion": "v2",
                    "metadata": {"labels": dict(labels)},
                    "data": dict(data),
                },
            },
            "dataFrom": [{"extract": {"key": secret_id}}],
        },
    }
