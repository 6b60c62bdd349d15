"""Chart values: static files, computed app values, and the checks themselves.

Pure Python (no jsii): these tests run in well under a second.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from platform_builders import helm_values
from platform_builders.helm_values import (
    CHART_REFERENCE_DIR,
    chart_values_problems,
    deep_merge,
    load_values,
    reference_directories,
    reference_identity,
)
from platform_config import load_config, parse_config, paths
from platform_config.paths import HELM_VALUES_DIR
from platform_services.istio.workloads import ISTIOD
from platform_services.jupyterhub.values import (
    AUTHENTICATOR_CONFIG_KEY,
    GPU_START_TIMEOUT_SECONDS,
    GpuPool,
    jupyterhub_values,
)
from platform_services.mlflow.values import CLOUD_SQL_PROXY_IMAGE, mlflow_values
from platform_services.mlflow.workloads import mlflow_workload
from platform_services.values_audit import (
    ValuesFileUse,
    audit_values_files,
    values_file_uses,
)
from tests.support.variants import EXAMPLE_CONFIG, ROOT, example_data


class UncheckedValuesFile(UserWarning):
    """A values file in use whose chart the project has no reference data for."""

    def __init__(self, use: ValuesFileUse | None, message: str = "") -> None:
        super().__init__(
            message
            or f"helm-values/{use.file if use else '?'} ({use.used_by if use else '?'}, chart "
            f"{use.chart if use else '?'}): no reference data in charts/reference; parsed "
            "only, keys not checked against the chart"
        )


CHARTS_WITH_SCHEMA = {"istio-gateway", "external-secrets", "jupyterhub", "mlflow"}

PROXY_PRINCIPAL = "cluster.local/ns/jupyterhub/sa/jupyterhub-proxy"
MLFLOW = mlflow_workload("mlflow", "mlflow")
IDENTITY_HEADER = "x-iap-user-email"
HUB_HOST = "jupyterhub.mlops.example.com"


L4_POOL = GpuPool(pool="gpu", accelerator="nvidia-l4", count=2)
T4_POOL = GpuPool(pool="t4-spot", accelerator="nvidia-tesla-t4", count=1)


def _jupyterhub(
    gpu_pools: list[GpuPool] | None = None, values_file: str = "jupyterhub.yaml"
) -> dict[str, Any]:
    return jupyterhub_values(
        values_file=values_file,
        admin_users=["Admin@Example.com", "ops@example.com"],
        storage_size="20Gi",
        cull_idle_minutes=45,
        gpu_pools=gpu_pools or [],
        identity_header=IDENTITY_HEADER,
        proxy_principal=PROXY_PRINCIPAL,
        istiod=ISTIOD,
        mlflow=MLFLOW,
        hub_host=HUB_HOST,
    )


def _mlflow(public_host: str | None = None, values_file: str = "mlflow.yaml") -> dict[str, Any]:
    return mlflow_values(
        values_file=values_file,
        service_account_name="mlflow",
        gcp_service_account="mlflow-server@example-project.iam.gserviceaccount.com",
        artifact_bucket="example-project-mlflow-artifacts",
        sql_instance_connection_name="example-project:europe-west4:mlflow",
        database="mlflow",
        database_user="mlflow-server@example-project.iam",
        public_host=public_host,
    )


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every map entry and list item, depth first."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, value
            yield from _walk(value, child)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


# --- static values files ---------------------------------------------------------


def _audited_configs() -> list[tuple[str, dict[str, Any]]]:
    """The example config, and the operator's own when PLATFORM_CONFIG names one:
    `make test` then checks the values files that config uses, with no edit here."""
    configs = [("example", example_data())]
    named = os.environ.get("PLATFORM_CONFIG", "").strip()
    if named and Path(named).resolve() != EXAMPLE_CONFIG.resolve():
        configs.append((named, load_config(named).model_dump(mode="json")))
    return configs


@pytest.mark.parametrize(
    ("label", "data"), _audited_configs(), ids=[label for label, _ in _audited_configs()]
)
def test_values_files_in_use_pass_their_charts_checks(label: str, data: dict[str, Any]) -> None:
    result = audit_values_files(parse_config(data))
    assert result.problems == []
    for use in result.unchecked:
        warnings.warn(UncheckedValuesFile(use), stacklevel=1)
    if label == "example":  # the platform's own charts: every one has reference data
        assert result.unchecked == []


def test_every_values_file_is_used_by_the_example_or_reported() -> None:
    used = {use.file for use in values_file_uses(parse_config(example_data()))}
    for path in sorted(HELM_VALUES_DIR.glob("*.yaml")):
        if path.name not in used:
            warnings.warn(
                UncheckedValuesFile(
                    None,
                    f"helm-values/{path.name}: not used by the example "
                    "config; `make test` checks it when PLATFORM_CONFIG names a config using it",
                ),
                stacklevel=1,
            )


def test_a_custom_app_added_through_config_alone(team_values_dir: Path) -> None:
    """A new app entry plus its values file: no code, and the same checks run."""
    (team_values_dir / "notes.yaml").write_text("replicaCount: 2\nimage: {tag: 1.4.2}\n")
    (team_values_dir / "second-mlflow.yaml").write_text("resources: {}\nservce: {type: x}\n")
    data = example_data()
    data["apps"]["notes"] = {
        "chart_repo": "https://charts.example.com/",
        "chart": "notes",
        "chart_version": "1.4.2",
        "values_file": "notes.yaml",
        "service": "notes",
        "service_port": 8080,
        "trusts_identity_header": True,
    }
    data["apps"]["tracking"] = {
        "chart_repo": "https://community-charts.github.io/helm-charts",
        "chart": "mlflow",
        "chart_version": "1.11.5",
        "values_file": "second-mlflow.yaml",
        "service": "mlflow",
        "service_port": 80,
    }
    result = audit_values_files(parse_config(data))
    # No reference data for the notes chart: parsed, reported as unchecked.
    assert [(u.file, u.used_by) for u in result.unchecked] == [("notes.yaml", "apps.notes")]
    # The same chart as the built-in MLflow: checked, and the typo is caught.
    assert result.problems
    for problem in result.problems:  # the key check and the chart's schema
        assert "helm-values/second-mlflow.yaml (apps.tracking" in problem
        assert "servce" in problem


def test_vendoring_a_custom_charts_reference_data_is_all_it_takes_to_check_it(
    tmp_path: Path, team_values_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reference data is data too: a directory with the chart's values.yaml and a
    reference.yaml naming it, and the custom app's file is checked, no code."""
    references = tmp_path / "charts"
    shutil.copytree(CHART_REFERENCE_DIR, references)
    monkeypatch.setattr(helm_values, "CHART_REFERENCE_DIR", references)
    (team_values_dir / "notes.yaml").write_text("replicaCount: 2\nimage: {tga: 1.4.2}\n")
    data = example_data()
    data["apps"]["notes"] = {
        "chart_repo": "oci://ghcr.io/example/charts",
        "chart": "notes",
        "chart_version": "1.4.2",
        "values_file": "notes.yaml",
        "service": "notes",
        "service_port": 8080,
    }
    config = parse_config(data)
    before = audit_values_files(config)
    assert [u.file for u in before.unchecked] == ["notes.yaml"]
    assert before.problems == []

    vendored = references / "notes"
    vendored.mkdir()
    (vendored / "values.yaml").write_text("replicaCount: 1\nimage: {repository: notes, tag: ''}\n")
    (vendored / "reference.yaml").write_text(
        "repository: oci://ghcr.io/example/charts\nchart: notes\nversion: '1.4.2'\n"
    )
    after = audit_values_files(config)
    assert after.unchecked == []
    assert after.problems == [
        "helm-values/notes.yaml (apps.notes, chart notes 1.4.2 from oci://ghcr.io/example/charts):"
        " notes: image.tga: not a key of the chart"
    ]
    # Another version of the chart is not checked against this data.
    data["apps"]["notes"]["chart_version"] = "2.0.0"
    assert [u.file for u in audit_values_files(parse_config(data)).unchecked] == ["notes.yaml"]


def test_reference_data_without_reference_yaml_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory that does not say which chart it describes is an error, not
    silently unused data."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "values.yaml").write_text("a: 1\n")
    monkeypatch.setattr(helm_values, "CHART_REFERENCE_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"notes/reference.yaml: needs the chart"):
        audit_values_files(parse_config(example_data()))


def test_without_reference_data_every_values_file_is_unchecked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tree without charts/reference/ (read only here, never at import) parses
    every values file in use and reports it unchecked: no error, nothing checked."""
    monkeypatch.setattr(helm_values, "CHART_REFERENCE_DIR", tmp_path / "missing")
    assert reference_directories() == ()
    config = parse_config(example_data())
    result = audit_values_files(config)
    assert result.problems == []
    assert [u.file for u in result.unchecked] == [u.file for u in values_file_uses(config)]


@pytest.mark.parametrize("chart", reference_directories())
def test_chart_reference_data_is_in_the_repo(chart: str) -> None:
    directory = CHART_REFERENCE_DIR / chart
    assert (directory / "values.yaml").is_file()
    assert (directory / "values.schema.json").is_file() == (chart in CHARTS_WITH_SCHEMA)
    # The chart's own defaults pass its own checks: the baseline is sound.
    assert chart_values_problems(chart, {}) == []
    assert f"`{chart}/`" in (CHART_REFERENCE_DIR / "README.md").read_text()
    repository, name, version = reference_identity(chart)
    assert repository.startswith(("https://", "oci://"))
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    assert f"| `{chart}/` | {name}" in (CHART_REFERENCE_DIR / "README.md").read_text()


def test_reference_data_does_not_live_outside_the_repo() -> None:
    repo = ROOT
    assert CHART_REFERENCE_DIR.is_relative_to(repo)
    assert HELM_VALUES_DIR.is_relative_to(repo)


def test_static_policies() -> None:
    argo = load_values("argo-cd.yaml")
    assert argo["configs"]["params"]["server.insecure"] is True
    assert argo["configs"]["cm"]["admin.enabled"] is False
    assert argo["server"]["service"]["type"] == "ClusterIP"
    assert argo["server"]["ingress"]["enabled"] is False
    assert argo["crds"]["install"] is True
    assert argo["redisSecretInit"]["podLabels"]["sidecar.istio.io/inject"] == "false"
    istiod = load_values("istiod.yaml")
    assert istiod["meshConfig"]["accessLogFile"] == "/dev/stdout"
    assert istiod["env"]["ENABLE_NATIVE_SIDECARS"] == "true"
    assert istiod["autoscaleMin"] == 1
    assert load_values("istio-gateway.yaml")["service"]["type"] == "ClusterIP"
    assert load_values("external-secrets.yaml")["installCRDs"] is True


# --- load_values / deep_merge ------------------------------------------------------


def test_load_values_rejects_a_non_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    monkeypatch.setattr(paths, "HELM_VALUES_DIR", tmp_path)
    with pytest.raises(ValueError, match="must be a mapping"):
        load_values("list.yaml")
    assert load_values("empty.yaml") == {}


def test_deep_merge_merges_maps_and_replaces_everything_else() -> None:
    base: dict[str, Any] = {"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": {"f": 1}}
    override: dict[str, Any] = {"a": {"c": [3], "g": True}, "d": {"now": "a map"}, "e": None}
    merged = deep_merge(base, override)
    assert merged == {"a": {"b": 1, "c": [3], "g": True}, "d": {"now": "a map"}, "e": None}
    # Inputs untouched, and the result shares nothing mutable with them.
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": {"f": 1}}
    assert override == {"a": {"c": [3], "g": True}, "d": {"now": "a map"}, "e": None}
    merged["a"]["c"].append(4)
    assert override["a"]["c"] == [3]


# --- chart_values_problems: negative cases ----------------------------------------


def test_misspelt_key_is_reported_with_its_path() -> None:
    problems = chart_values_problems("jupyterhub", {"proxy": {"servce": {"type": "ClusterIP"}}})
    assert "jupyterhub: proxy.servce: not a key of the chart" in problems


def test_misspelt_key_in_a_chart_without_schema_is_reported() -> None:
    problems = chart_values_problems("argo-cd", {"server": {"ingres": {"enabled": False}}})
    assert problems == ["argo-cd: server.ingres: not a key of the chart"]


def test_schema_violation_is_reported() -> None:
    problems = chart_values_problems("istio-gateway", {"service": {"type": 42}})
    assert any(p.startswith("istio-gateway: service.type: 42 is not of type") for p in problems)


def test_all_schema_violations_are_collected() -> None:
    problems = chart_values_problems(
        "mlflow", {"replicaCount": "two", "service": {"port": "eighty"}}
    )
    assert any(p.startswith("mlflow: replicaCount:") for p in problems)
    assert any(p.startswith("mlflow: service.port:") for p in problems)


def test_istio_internal_defaults_key_is_rejected() -> None:
    problems = chart_values_problems("istiod", {"_internal_defaults_do_not_set": {"env": {}}})
    assert any("set the keys at the top level" in p for p in problems)


def test_scalar_where_the_chart_expects_a_map_is_reported() -> None:
    problems = chart_values_problems("external-secrets", {"webhook": "off"})
    assert "external-secrets: webhook: expected a map like the chart's default, got str" in problems
    # A null removes a default (Helm semantics) and is not a problem.
    assert chart_values_problems("external-secrets", {"webhook": {"log": None}}) == []


def test_free_form_keys_are_accepted() -> None:
    assert (
        chart_values_problems(
            "argo-cd",
            {
                "configs": {
                    "cm": {"dex.config": "connectors: []", "url": "https://argocd.example.com"},
                    "params": {"server.insecure": True},
                    "rbac": {"policy.csv": "g, a@example.com, role:admin"},
                    "secret": {"extra": {"dex.google.clientSecret": "$secret"}},
                },
                "server": {"podAnnotations": {"anything": "goes"}},
            },
        )
        == []
    )
    assert (
        chart_values_problems(
            "istiod", {"meshConfig": {"defaultConfig": {"holdApplicationUntilProxyStarts": True}}}
        )
        == []
    )
    assert (
        chart_values_problems(
            "istio-gateway",
            {"service": {"annotations": {"cloud.google.com/neg": '{"ingress": true}'}}},
        )
        == []
    )
    assert chart_values_problems("jupyterhub", {"hub": {"config": {"KubeSpawner": {"x": 1}}}}) == []


def test_keys_with_dots_are_quoted_in_problems() -> None:
    problems = chart_values_problems("argo-cd", {"configs": {"cmd": {"server.insecure": True}}})
    assert problems == ["argo-cd: configs.cmd: not a key of the chart"]
    problems = chart_values_problems("external-secrets", {"serviceAccount": {"a.b": {}}})
    assert problems == ['external-secrets: serviceAccount."a.b": not a key of the chart']


def test_unknown_chart_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown chart"):
        chart_values_problems("grafana", {})


# --- JupyterHub ----------------------------------------------------------------------


@pytest.mark.parametrize("gpu_pools", [None, [L4_POOL, T4_POOL]])
def test_jupyterhub_values_are_valid_for_the_chart(gpu_pools: list[GpuPool] | None) -> None:
    assert chart_values_problems("jupyterhub", _jupyterhub(gpu_pools)) == []


def test_jupyterhub_values_properties() -> None:
    values = _jupyterhub()
    assert values["proxy"]["service"]["type"] == "ClusterIP"
    assert values["proxy"]["https"]["enabled"] is False
    assert values["singleuser"]["defaultUrl"] == "/lab"
    assert values["singleuser"]["storage"] == {"type": "dynamic", "capacity": "20Gi"}
    assert values["cull"]["enabled"] is True
    assert values["cull"]["timeout"] == 45 * 60
    auth = values["hub"]["config"]["Authenticator"]
    assert auth["allow_all"] is True
    assert auth["auto_login"] is True
    assert auth["admin_users"] == ["admin@example.com", "ops@example.com"]
    # Fails closed if the extraConfig snippet were ever dropped.
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "null"
    # Static part kept: Istio-related settings from helm-values/jupyterhub.yaml.
    assert values["hub"]["config"]["KubeSpawner"]["services_enabled"] is True
    assert values["prePuller"]["annotations"]["sidecar.istio.io/inject"] == "false"


def test_jupyterhub_gives_each_user_an_origin() -> None:
    """In hub.config (z2jh 4.4.0 passes --host-routing to the proxy only then),
    in the form JupyterHub 5.5 takes (scheme and host, no path, no trailing
    slash: it appends its base URL); the hub's cookies are __Host- cookies.
    Inside a real hub, proxy and browser: test_jupyterhub_subdomains.py."""
    values = _jupyterhub()
    assert values["hub"]["config"]["JupyterHub"]["subdomain_host"] == f"https://{HUB_HOST}"
    assert values["hub"]["config"]["JupyterHub"]["cookie_host_prefix_enabled"] is True
    assert "subdomain_host" not in json.dumps(values["hub"].get("extraConfig", {}))


def test_jupyterhub_user_pods_may_reach_istiod() -> None:
    egress = _jupyterhub()["singleuser"]["networkPolicy"]["egress"]
    to_istiod = [
        rule
        for rule in egress
        if any(
            peer.get("podSelector", {}).get("matchLabels") == {"app": "istiod"}
            for peer in rule["to"]
        )
    ]
    assert to_istiod and to_istiod[0]["ports"] == [{"protocol": "TCP", "port": 15012}]


def test_jupyterhub_authenticator_code_compiles_and_names_the_header() -> None:
    code = _jupyterhub()["hub"]["extraConfig"][AUTHENTICATOR_CONFIG_KEY]
    compile(code, "<hub.extraConfig>", "exec")
    assert repr(IDENTITY_HEADER) in code
    assert "spiffe://" + PROXY_PRINCIPAL in code
    for api in ("get_handlers", "login_user", "c.JupyterHub.authenticator_class"):
        assert api in code


def test_jupyterhub_profiles_cpu_only_without_gpu() -> None:
    profiles = _jupyterhub()["singleuser"]["profileList"]
    assert [p["slug"] for p in profiles] == ["cpu"]
    assert profiles[0]["default"] is True
    assert "nvidia.com/gpu" not in str(profiles)


def test_jupyterhub_profiles_follow_each_gpu_pool() -> None:
    profiles = _jupyterhub([L4_POOL, T4_POOL])["singleuser"]["profileList"]
    assert [p["slug"] for p in profiles] == ["cpu", "gpu-gpu", "gpu-t4-spot"]
    for profile, pool in zip(profiles[1:], (L4_POOL, T4_POOL), strict=True):
        override = profile["kubespawner_override"]
        assert override["extra_resource_limits"] == {"nvidia.com/gpu": str(pool.count)}
        assert override["node_selector"] == {
            "cloud.google.com/gke-nodepool": pool.pool,
            "cloud.google.com/gke-accelerator": pool.accelerator,
        }
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in override[
            "tolerations"
        ]
        # Scale-up from 0 plus the driver install take longer than the default.
        assert override["start_timeout"] == GPU_START_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("admin_users", ["not-an-email"]),
        ("storage_size", "ten gigs"),
        ("cull_idle_minutes", 0),
        ("identity_header", "x-iap user"),
        ("proxy_principal", "default"),
        ("gpu_pools", [GpuPool(pool="gpu", accelerator="nvidia-l4", count=0)]),
        ("gpu_pools", [GpuPool(pool="gpu", accelerator="nvidia l4", count=1)]),
        ("gpu_pools", [GpuPool(pool="GPU pool", accelerator="nvidia-l4", count=1)]),
        ("gpu_pools", [L4_POOL, L4_POOL]),
        ("hub_host", "https://jupyterhub.mlops.example.com"),
        ("hub_host", "jupyterhub.mlops.example.com/"),
        ("hub_host", "JupyterHub.mlops.example.com"),
    ],
)
def test_jupyterhub_values_reject_bad_input(field: str, value: Any) -> None:
    kwargs: dict[str, Any] = {
        "values_file": "jupyterhub.yaml",
        "admin_users": ["a@example.com"],
        "storage_size": "10Gi",
        "cull_idle_minutes": 60,
        "gpu_pools": [],
        "identity_header": IDENTITY_HEADER,
        "proxy_principal": PROXY_PRINCIPAL,
        "istiod": ISTIOD,
        "mlflow": MLFLOW,
        "hub_host": HUB_HOST,
        field: value,
    }
    with pytest.raises(ValueError, match=field.split("_", maxsplit=1)[0]):
        jupyterhub_values(**kwargs)


# --- MLflow ---------------------------------------------------------------------------


@pytest.mark.parametrize("public_host", [None, "mlflow.mlops.example.com"])
def test_mlflow_values_are_valid_for_the_chart(public_host: str | None) -> None:
    assert chart_values_problems("mlflow", _mlflow(public_host)) == []


def test_mlflow_values_have_no_password_anywhere() -> None:
    for path, value in _walk(_mlflow("mlflow.mlops.example.com")):
        if "password" in path.rsplit(".", 1)[-1].lower():
            assert not value, f"{path} carries a password"
    uri = _mlflow()["extraArgs"]["backendStoreUri"]
    credentials = uri.removeprefix("postgresql://").split("@127.0.0.1")[0]
    assert ":" not in credentials, "the backend store URI must not carry a password"


def test_mlflow_values_properties() -> None:
    values = _mlflow()
    assert values["fullnameOverride"] == "mlflow"
    assert values["service"] == {"type": "ClusterIP", "port": 80}
    assert values["artifactRoot"]["gcs"] == {
        "enabled": True,
        "bucket": "example-project-mlflow-artifacts",
        "path": "",
    }
    assert values["artifactRoot"]["proxiedArtifactStorage"] is True
    account = values["serviceAccount"]
    assert account["create"] is True
    assert account["name"] == "mlflow"
    assert account["annotations"] == {
        "iam.gke.io/gcp-service-account": "mlflow-server@example-project.iam.gserviceaccount.com"
    }
    # IAM database user, "@" percent-encoded; the proxy listens on loopback.
    assert values["extraArgs"]["backendStoreUri"] == (
        "postgresql://mlflow-server%40example-project.iam@127.0.0.1:5432/mlflow"
    )
    # No bundled database, and the chart's own (password-based) postgres off.
    assert values["postgresql"]["enabled"] is False
    assert values["mysql"]["enabled"] is False
    assert values["backendStore"]["postgres"]["enabled"] is False


def test_mlflow_cloud_sql_proxy_is_a_native_sidecar() -> None:
    values = _mlflow()
    assert values.get("extraContainers", []) == []
    (proxy,) = values["initContainers"]
    assert proxy["image"] == CLOUD_SQL_PROXY_IMAGE
    assert proxy["image"].startswith("gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.")
    assert proxy["image"].rsplit(":", 1)[1].count(".") == 2, "pinned to an exact release"
    assert proxy["restartPolicy"] == "Always"
    for arg in ("--auto-iam-authn", "--private-ip", "--structured-logs", "--port=5432"):
        assert arg in proxy["args"]
    assert proxy["args"][-1] == "example-project:europe-west4:mlflow"
    assert proxy["securityContext"]["runAsNonRoot"] is True
    assert proxy["securityContext"]["allowPrivilegeEscalation"] is False
    assert proxy["resources"]["requests"]


def test_mlflow_public_host_is_allowed() -> None:
    in_cluster_only = _mlflow()
    assert "corsAllowedOrigins" not in in_cluster_only
    values = _mlflow("mlflow.mlops.example.com")
    assert "mlflow.mlops.example.com" in values["serverAllowedHosts"]
    assert "mlflow.*.svc.cluster.local" in values["serverAllowedHosts"]
    assert values["corsAllowedOrigins"] == ["https://mlflow.mlops.example.com"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("database_user", "mlflow-server@example-project.iam.gserviceaccount.com"),
        ("gcp_service_account", "mlflow-server"),
        ("artifact_bucket", "gs://bucket"),
        ("sql_instance_connection_name", "mlflow"),
        ("service_account_name", "MLflow"),
    ],
)
def test_mlflow_values_reject_bad_input(field: str, value: str) -> None:
    kwargs: dict[str, Any] = {
        "values_file": "mlflow.yaml",
        "service_account_name": "mlflow",
        "gcp_service_account": "mlflow-server@example-project.iam.gserviceaccount.com",
        "artifact_bucket": "example-project-mlflow-artifacts",
        "sql_instance_connection_name": "example-project:europe-west4:mlflow",
        "database": "mlflow",
        "database_user": "mlflow-server@example-project.iam",
        field: value,
    }
    with pytest.raises(ValueError, match=field):
        mlflow_values(**kwargs)


# --- values_file: the built-ins read the file the config names -----------------------


def test_jupyterhub_values_come_from_the_named_values_file(team_values_dir: Path) -> None:
    default = _jupyterhub()
    assert default["singleuser"]["defaultUrl"] == "/lab"
    values = _jupyterhub(values_file="team-jupyterhub.yaml")
    assert values["singleuser"]["defaultUrl"] == "/tree"
    # The computed part is still merged over the other file ...
    assert values["hub"]["extraConfig"][AUTHENTICATOR_CONFIG_KEY]
    assert values["singleuser"]["storage"] == {"type": "dynamic", "capacity": "20Gi"}
    # ... and the result is still checked against the chart.
    assert chart_values_problems("jupyterhub", values) == []


def test_mlflow_values_come_from_the_named_values_file(team_values_dir: Path) -> None:
    assert _mlflow()["resources"]["limits"]["memory"] == "2Gi"
    values = _mlflow(values_file="team-mlflow.yaml")
    assert values["resources"]["limits"]["memory"] == "8Gi"
    assert values["serviceAccount"]["name"] == "mlflow"
    assert values["initContainers"][0]["image"] == CLOUD_SQL_PROXY_IMAGE
    assert chart_values_problems("mlflow", values) == []


def test_a_misspelt_key_in_the_named_values_file_reaches_the_chart_check(
    team_values_dir: Path,
) -> None:
    """The named file really is what gets merged: its typo shows up in the result."""
    (team_values_dir / "typo-jupyterhub.yaml").write_text("singleuser:\n  defaultUlr: /tree\n")
    values = _jupyterhub(values_file="typo-jupyterhub.yaml")
    assert "jupyterhub: singleuser.defaultUlr: not a key of the chart" in (
        chart_values_problems("jupyterhub", values)
    )


def test_values_yaml_writes_shared_objects_out_in_full() -> None:
    shared = {"limits": {"memory": "256Mi"}}
    text = helm_values.to_values_yaml({"a": shared, "b": shared})
    assert "&" not in text and "*" not in text
    assert text.count("256Mi") == 2
