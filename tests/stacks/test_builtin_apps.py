"""Config choices that reach the built-in apps: values_file and MLflow's namespace.

Checked on the stacks' pieces, not with another app synth (conftest.py
synthesizes the app once per session): the network and cluster stacks are
only constructed in memory, which takes well under a second once jsii is
loaded, and the bootstrap stack's Helm values come from the same function it
calls for every app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from platform_builders.helm_values import chart_values_problems
from platform_config import PlatformConfig, parse_config
from tests.support.variants import Json, example_data

if TYPE_CHECKING:
    from stacks.cluster import ClusterStack

PROJECT = "example-mlops-project"


def _config(mutate: dict[str, Json]) -> PlatformConfig:
    """The example config with apps.<name> fields updated."""
    data = example_data()
    for name, fields in mutate.items():
        data["apps"][name].update(fields)
    return parse_config(data)


def _cluster_stack(config: PlatformConfig) -> ClusterStack:
    """The network and cluster stacks of `config`, constructed but not synthesized."""
    from cdktf import Testing

    from platform_services.registry import enabled_services
    from stacks.cluster import ClusterStack
    from stacks.network import NetworkStack

    app = Testing.app()
    network = NetworkStack(app, config=config)
    return ClusterStack(app, config=config, network=network, services=enabled_services(config))


def _service(cluster: ClusterStack, name: str) -> Any:
    """The service instance that provisioned `name` in the cluster stack."""
    from platform_services.service import ChartAppService

    for service in cluster.services:
        if isinstance(service, ChartAppService) and name in service.applications(cluster.config):
            return service
    raise AssertionError(f"no service runs app {name}")


def _app_values(config: PlatformConfig, name: str, cluster: ClusterStack) -> dict[str, Any]:
    """What the bootstrap stack hands Argo CD as the app's Helm values."""
    values: dict[str, Any] = _service(cluster, name).values(
        config, name, config.apps.enabled()[name]
    )
    return values


# --- values_file -----------------------------------------------------------------------


def test_builtin_apps_default_to_their_own_values_file() -> None:
    config = _config({})
    assert config.apps.jupyterhub.values_file == "jupyterhub.yaml"
    assert config.apps.mlflow.values_file == "mlflow.yaml"
    cluster = _cluster_stack(config)
    assert _app_values(config, "jupyterhub", cluster)["singleuser"]["defaultUrl"] == "/lab"
    assert _app_values(config, "mlflow", cluster)["resources"]["limits"]["memory"] == "2Gi"


def test_builtin_apps_use_the_values_file_the_config_names(team_values_dir: Path) -> None:
    config = _config(
        {
            "jupyterhub": {"values_file": "team-jupyterhub.yaml"},
            "mlflow": {"values_file": "team-mlflow.yaml"},
        }
    )
    cluster = _cluster_stack(config)
    hub = _app_values(config, "jupyterhub", cluster)
    assert hub["singleuser"]["defaultUrl"] == "/tree"
    assert hub["hub"]["config"]["Authenticator"]["admin_users"] == ["admin@example.com"]
    assert chart_values_problems("jupyterhub", hub) == []
    mlflow = _app_values(config, "mlflow", cluster)
    assert mlflow["resources"]["limits"]["memory"] == "8Gi"
    assert mlflow["extraArgs"]["backendStoreUri"].startswith("postgresql://")
    assert chart_values_problems("mlflow", mlflow) == []


# --- MLflow's namespace and Workload Identity -------------------------------------------


def _workload_identity_members(cluster: ClusterStack) -> set[str]:
    from cdktf import Testing

    stack = json.loads(Testing.synth(cluster))
    bindings = stack["resource"]["google_service_account_iam_member"].values()
    return {b["member"] for b in bindings if b["role"] == "roles/iam.workloadIdentityUser"}


@pytest.mark.parametrize(
    ("namespace", "expected"), [(None, "mlflow"), ("ml-tracking", "ml-tracking")]
)
def test_mlflow_workload_identity_follows_its_namespace(
    namespace: str | None, expected: str
) -> None:
    config = _config({"mlflow": {"namespace": namespace}})
    # Where the bootstrap stack's Argo CD Application deploys MLflow.
    assert config.app_namespaces["mlflow"] == expected
    cluster = _cluster_stack(config)
    mlflow_members = {m for m in _workload_identity_members(cluster) if m.endswith("/mlflow]")}
    assert mlflow_members == {f"serviceAccount:{PROJECT}.svc.id.goog[{expected}/mlflow]"}
    storage = _service(cluster, "mlflow").storage
    assert storage is not None
    account = storage.kubernetes_service_account
    assert (account.namespace, account.name) == (expected, "mlflow")
    # The chart creates exactly the account that the binding trusts.
    values = _app_values(config, "mlflow", cluster)
    assert values["serviceAccount"]["name"] == account.name
    assert values["serviceAccount"]["annotations"]["iam.gke.io/gcp-service-account"] == (
        storage.identity.email_address
    )
