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


#: ESO's generator API group/version (external-secrets 2.9: generators/v1alpha1).
GENERATORS_API_VERSION = "generators.external-secrets.io/v1alpha1"


def password_generator(
    *, name: str, namespace: str, keys: Sequence[str], length: int = 32
) -> dict[str, Any]:
    """A Password generator: one independent random value per key.

    Letters and digits only (no symbols: values end up in config files,
    ";"-joined lists and URLs), hex-encoded, so a `length`-character password
    becomes 2*length hex digits: what JupyterHub's cookie secret and
    CryptKeeper keys require (32 bytes as 64 hex digits) and fine for Flask.
    Nothing secret is in here: ESO generates the values inside the cluster.
    """
    if not keys or len(set(keys)) != len(keys) or not all(keys):
        raise ValueError(f"password_generator {name}: keys must be non-empty and unique")
    return {
        "apiVersion": GENERATORS_API_VERSION,
        "kind": "Password",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "length": length,
            "digits": length // 4,
            "symbols": 0,
            "noUpper": False,
            "allowRepeat": True,
            "encoding": "hex",
            "secretKeys": list(keys),
        },
    }


def generated_secret(
    *, name: str, namespace: str, generator_name: str, target_name: str
) -> dict[str, Any]:
    """An ExternalSecret that fills `target_name` from a Password generator ONCE.

    refreshPolicy CreatedOnce: ESO generates when the ExternalSecret is new
    and never again (a re-render of anything, an operator restart or a
    refresh leaves the values alone); it regenerates only if the Secret is
    deleted or edited. No ClusterSecretStore: generators need none.
    """
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshPolicy": "CreatedOnce",
            "target": {"name": target_name, "creationPolicy": "Owner"},
            "dataFrom": [
                {
                    "sourceRef": {
                        "generatorRef": {
                            "apiVersion": GENERATORS_API_VERSION,
                            "kind": "Password",
                            "name": generator_name,
                        }
                    }
                }
            ],
        },
    }
