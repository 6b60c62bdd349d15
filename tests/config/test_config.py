"""Bad config gets a clear answer: the field path, what is wrong, what is allowed."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_config import ConfigError, load_config, parse_config
from tests.support.variants import (
    ROOT,
    THIRTY_APPS,
    Json,
    child_cpu_seconds,
    example_data,
    set_path,
)

Mutation = Callable[[Json], None]


def _set(path: str, value: Any) -> Mutation:
    """A mutation that sets a dotted path (list indexes as [n]) to value."""

    def mutate(data: Json) -> None:
        set_path(data, path, value)

    return mutate


def _set_all(values: dict[str, Any]) -> Mutation:
    """A mutation that sets several dotted paths at once."""

    def mutate(data: Json) -> None:
        for path, value in values.items():
            _set(path, value)(data)

    return mutate


def _delete(key: str) -> Mutation:
    return lambda data: data.pop(key)


def _errors(mutation: Mutation) -> str:
    data = copy.deepcopy(example_data())
    mutation(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "bad.yaml")
    return str(caught.value)


GPU_POOL: Json = {"name": "gpu", "machine_type": "g2-standard-8", "gpu": {"type": "nvidia-l4"}}

# (case id, mutation, field path the message must name, words it must contain)
BAD_CONFIGS: list[tuple[str, Mutation, str, str]] = [
    ("project id format", _set("project_id", "My_Project"), "project_id", "project id"),
    ("project id too short", _set("project_id", "abc"), "project_id", "6-30 characters"),
    ("region format", _set("region", "europe west4"), "region", "europe-west4"),
    ("domain with scheme", _set("domain", "https://mlops.example.com"), "domain", "bare DNS name"),
    ("domain with path", _set("domain", "mlops.example.com/app"), "domain", "bare DNS name"),
    ("domain not a name", _set("domain", "localhost"), "domain", "DNS name"),
    (
        "subnet not a cidr",
        _set("network.subnet_cidr", "10.10.0.0/33"),
        "network.subnet_cidr",
        "CIDR",
    ),
    ("cidr host bits", _set("network.pods_cidr", "10.16.0.1/14"), "network.pods_cidr", "CIDR"),
    ("public cidr", _set("network.subnet_cidr", "8.8.0.0/20"), "network.subnet_cidr", "private"),
    (
        "pods overlap subnet",
        _set("network.pods_cidr", "10.10.0.0/16"),
        "network.pods_cidr",
        "overlaps",
    ),
    (
        "private services range smaller than a /24",
        _set("network.private_services_cidr", "10.30.0.0/28"),
        "network.private_services_cidr",
        "needs a /24 or larger range (prefix length at most 24, such as 10.30.0.0/24)",
    ),
    (
        "private services range a /25",
        _set("network.private_services_cidr", "10.30.0.128/25"),
        "network.private_services_cidr",
        "is a /25",
    ),
    (
        "services overlap pods",
        _set("network.services_cidr", "10.17.0.0/20"),
        "network.services_cidr",
        "overlaps",
    ),
    (
        "duplicate pool names",
        lambda data: data["cluster"]["node_pools"].append({"name": "general"}),
        "cluster.node_pools",
        "duplicate entries: general",
    ),
    (
        "min above max",
        _set("cluster.node_pools[0].min_nodes", 5),
        "cluster.node_pools[0].min_nodes",
        "min_nodes must be <= max_nodes",
    ),
    (
        "nodes not a number",
        _set("cluster.node_pools[0].max_nodes", "three"),
        "cluster.node_pools[0].max_nodes",
        "valid integer",
    ),
    (
        "negative min",
        _set("cluster.node_pools[0].min_nodes", -1),
        "cluster.node_pools[0].min_nodes",
        "greater than or equal to 0",
    ),
    (
        "spot not a bool",
        _set("cluster.node_pools[0].spot", "maybe"),
        "cluster.node_pools[0].spot",
        "valid boolean",
    ),
    (
        "pool name",
        _set("cluster.node_pools[0].name", "General_Pool"),
        "cluster.node_pools[0].name",
        "DNS label",
    ),
    ("no node pools", _set("cluster.node_pools", []), "cluster.node_pools", "at least 1"),
    (
        "cluster name and environment too long for the node service account",
        _set_all({"cluster.name": "machine-learning", "environment": "prod"}),
        "cluster.name",
        "node service account id 'machine-learning-prod-gke-nodes' 31 characters long; "
        "Google allows at most 30: shorten cluster.name and environment by 1 characters",
    ),
    (
        "cluster name too long for GKE",
        _set("cluster.name", "a-cluster-name-of-forty-characters-ab"),
        "cluster.name",
        "GKE cluster name 'a-cluster-name-of-forty-characters-ab-example-gke' 49 characters",
    ),
    (
        "bastion service account id",
        _set_all(
            {
                "cluster.name": "ml-platform",
                "environment": "prod-eu1",
                "cluster.control_plane_access": "bastion",
                "access.bastion_members": ["user:alice@example.com"],
            }
        ),
        "cluster.name",
        "the bastion's service account id 'ml-platform-prod-eu1-gke-bastion' 32 characters",
    ),
    (
        "environment too long for the External Secrets service account",
        _set("environment", "production-eu1"),
        "environment",
        "1-13 lowercase letters",
    ),
    (
        "built-in app port out of range",
        _set("apps.jupyterhub.service_port", 0),
        "apps.jupyterhub.service_port",
        "greater than or equal to 1",
    ),
    (
        "built-in app chart name",
        _set("apps.mlflow.chart", "ML Flow"),
        "apps.mlflow.chart",
        "a chart name",
    ),
    (
        "access mode",
        _set("cluster.control_plane_access", "public"),
        "cluster.control_plane_access",
        "'dns' or 'bastion'",
    ),
    (
        "release channel",
        _set("cluster.release_channel", "BETA"),
        "cluster.release_channel",
        "REGULAR",
    ),
    (
        "member without prefix",
        _set("access.iap_members", ["alice@example.com"]),
        "access.iap_members[0]",
        "user:",
    ),
    (
        "member bad prefix",
        _set("access.iap_members", ["team:ml@example.com"]),
        "access.iap_members[0]",
        "serviceAccount:",
    ),
    (
        "member without email",
        _set("access.iap_members", ["user:alice"]),
        "access.iap_members[0]",
        "email address",
    ),
    ("no iap members", _set("access.iap_members", []), "access.iap_members", "at least 1"),
    (
        "argocd admin not email",
        _set("access.argocd_admins", ["group:x@example.com"]),
        "access.argocd_admins[0]",
        "email address",
    ),
    (
        "bastion without members",
        _set("cluster.control_plane_access", "bastion"),
        "access.bastion_members",
        "IAP tunnel",
    ),
    ("unknown top-level key", _set("regoin", "europe-west4"), "regoin", "unknown key"),
    (
        "unknown nested key",
        _set("cluster.deletion_protecton", False),
        "cluster.deletion_protecton",
        "unknown key",
    ),
    ("missing project", _delete("project_id"), "project_id", "required"),
    ("missing domain", _delete("domain"), "domain", "required"),
    ("environment format", _set("environment", "Prod_1"), "environment", "lowercase"),
    ("state bucket", _set("state_bucket", "UPPER"), "state_bucket", "bucket"),
    (
        "backend timeout of Google's default cuts WebSockets",
        _set("ingress.backend_timeout_seconds", 30),
        "ingress.backend_timeout_seconds",
        "greater than or equal to 3600",
    ),
    (
        "connection draining above Google's maximum",
        _set("ingress.connection_draining_seconds", 3601),
        "ingress.connection_draining_seconds",
        "less than or equal to 3600",
    ),
    ("unknown ingress key", _set("ingress.timeout", 60), "ingress.timeout", "unknown key"),
    (
        "domain too long for the per-user wildcard certificate",
        _set("domain", "a" * 39 + ".example.com"),
        "domain",
        "'*.jupyterhub.aaaa",
    ),
    (
        "gpu pool without zones",
        lambda data: data["cluster"]["node_pools"].append(dict(GPU_POOL)),
        "cluster.node_pools[1].zones",
        "is required for a GPU pool: not every zone of a region offers nvidia-l4",
    ),
    (
        "pool zone outside the region",
        _set("cluster.node_pools[0].zones", ["europe-west4-a", "europe-west1-b"]),
        "cluster.node_pools[0].zones[1]",
        "'europe-west1-b' is not in region europe-west4",
    ),
    (
        "pool zone is a region",
        _set("cluster.node_pools[0].zones", ["europe-west4"]),
        "cluster.node_pools[0].zones[0]",
        "a Google Cloud zone such as europe-west4-b",
    ),
    (
        "pool zones repeated",
        _set("cluster.node_pools[0].zones", ["europe-west4-a", "europe-west4-a"]),
        "cluster.node_pools[0].zones",
        "duplicate entries: europe-west4-a",
    ),
    (
        "pool zones empty",
        _set("cluster.node_pools[0].zones", []),
        "cluster.node_pools[0].zones",
        "at least 1",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "field", "words"),
    [pytest.param(m, f, w, id=case) for case, m, f, w in BAD_CONFIGS],
)
def test_bad_config_names_the_field(mutation: Mutation, field: str, words: str) -> None:
    message = _errors(mutation)
    assert "bad.yaml" in message
    assert f"  - {field}:" in message or f"  - {field}[" in message, message
    assert words in message, message


@pytest.mark.parametrize(("min_nodes", "expected"), [(None, 0), (0, 0), (1, 1)])
def test_gpu_pools_start_empty_unless_told(min_nodes: int | None, expected: int) -> None:
    data = example_data()
    pool = {**GPU_POOL, "zones": ["europe-west4-a"]}
    if min_nodes is not None:
        pool["min_nodes"] = min_nodes
    data["cluster"]["node_pools"].append(pool)
    config = parse_config(data)
    assert config.cluster.node_pools[1].min_nodes == expected
    assert config.cluster.node_pools[1].zones == ["europe-west4-a"]
    assert config.cluster.node_pools[0].min_nodes == 1  # a CPU pool keeps its default


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config" / "example.yaml")
    assert config.cluster.control_plane_access == "dns"
    assert config.cluster.deletion_protection is True


@pytest.mark.parametrize("cidr", ["10.30.0.0/24", "10.30.0.0/20", "10.32.0.0/16"])
def test_private_services_range_of_a_slash_24_or_larger_is_valid(cidr: str) -> None:
    data = example_data()
    data["network"]["private_services_cidr"] = cidr
    assert parse_config(data).network.private_services_cidr == cidr


def test_longest_names_that_fit_are_valid() -> None:
    """19 characters of cluster.name + environment name a 30-character node account;
    the longest environment (13) and project id (30) still name a valid bucket."""
    data = example_data()
    data["cluster"]["name"] = "ml-platform"  # 11
    data["environment"] = "prod-eu1"  # 8
    config = parse_config(data)
    assert len(config.names.node_service_account) == 30
    data["cluster"]["name"] = "ml"
    data["environment"] = "production-eu"  # 13
    data["project_id"] = "a-very-long-project-id-1234567"  # 30
    config = parse_config(data)
    assert len(config.names.external_secrets_service_account) == 30
    assert len(config.names.mlflow_bucket) == 61


def test_secure_defaults_for_everything_optional() -> None:
    minimal = {
        key: example_data()[key]
        for key in ("environment", "project_id", "region", "state_bucket", "domain")
    }
    # organization_domains has no usable default: IAP's managed client admits only
    # the organization's accounts (tests/config/test_iap_organization.py).
    minimal["access"] = {
        "iap_members": ["group:ml@example.com"],
        "organization_domains": ["example.com"],
    }
    minimal["gitops"] = {"repo_url": "https://github.com/example/gitops.git"}
    config = parse_config(minimal)
    assert config.cluster.control_plane_access == "dns"
    assert config.cluster.deletion_protection is True
    assert config.cluster.release_channel == "REGULAR"
    assert config.access.argocd_default_role == "none"
    assert config.access.argocd_sign_in == "iap"
    assert config.apps.mlflow.database.deletion_protection is True
    assert all(not pool.spot for pool in config.cluster.node_pools)
    assert config.gitops.needs_credentials is False


def test_ssh_repo_needs_credentials() -> None:
    config = load_config(ROOT / "config" / "example.yaml")
    assert config.gitops.needs_credentials is True


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(text)
    return path


def test_yaml_syntax_error_reports_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "environment: dev\nproject_id: [unclosed\nregion: europe-west4\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert "YAML syntax error at line 3" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the file is empty"):
        load_config(_write(tmp_path, "# nothing but a comment\n"))


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))


def test_bad_config_exits_fast_without_traceback_or_output(tmp_path: Path) -> None:
    """The real entry point, as cdktf runs it: non-zero, clear, fast, nothing written."""
    data = example_data()
    data["cluster"]["node_pools"][0]["min_nodes"] = 9
    bad = _write(tmp_path, yaml.safe_dump(data))
    env = {**os.environ, "PLATFORM_CONFIG": str(bad)}
    started = child_cpu_seconds()
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = child_cpu_seconds() - started
    assert result.returncode == 2
    assert "cluster.node_pools[0].min_nodes" in result.stderr
    assert str(bad) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cdktf.out").exists()
    assert elapsed < 2.0, f"rejecting a bad config took {elapsed:.2f}s"


def test_app_sections_import_no_cdktf_and_not_the_whole_model() -> None:
    """The apps' config sections live in their service packages, cdktf-free, and import
    the config's base modules without a cycle (each first, in a fresh interpreter)."""
    for module in (
        "platform_services.chart_app.config",
        "platform_services.jupyterhub.config",
        "platform_services.mlflow.config",
        "platform_services.jupyterhub.charts",
        "platform_services.mlflow.charts",
    ):
        code = f"import sys, {module}; print('cdktf' in sys.modules)"
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert (result.returncode, result.stdout) == (0, "False\n"), (module, result.stderr)


def test_built_in_app_defaults_are_their_chart_pins_and_not_platform_charts() -> None:
    from platform_builders.charts import AppChartRef
    from platform_services.jupyterhub.charts import JUPYTERHUB_CHART
    from platform_services.mlflow.charts import MLFLOW_CHART
    from platform_services.registry import pinned_charts

    config = parse_config(example_data())
    for app, pin in [
        (config.apps.jupyterhub, JUPYTERHUB_CHART),
        (config.apps.mlflow, MLFLOW_CHART),
    ]:
        assert (app.chart_repo, app.chart, app.chart_version, app.values_file) == (
            pin.repository,
            pin.chart,
            pin.version,
            pin.values_file,
        )
    assert JUPYTERHUB_CHART.version == "4.4.0"
    assert pinned_charts()
    assert not any(isinstance(ref, AppChartRef) for ref in pinned_charts())


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("https://github.com/example/gitops.git", "https"),
        ("ssh://git@git.example.com:2222/team/gitops.git", "ssh"),
        ("git@github.com:example/mlops-gitops.git", "ssh"),
    ],
)
def test_repo_scheme_is_said_once(url: str, scheme: str) -> None:
    data = example_data()
    data["gitops"] = {"repo_url": url, "private": True}
    gitops = parse_config(data).gitops
    assert gitops.repo_scheme == scheme
    assert gitops.needs_credentials is True


@pytest.mark.parametrize(
    ("mutation", "line"),
    [
        (
            _set("cluster.node_pools[0].max_node", 3),
            "cluster.node_pools[0].max_node: unknown key; did you mean max_nodes?",
        ),
        (_set("regoin", "europe-west4"), "regoin: unknown key; did you mean region?"),
        (
            _set("cluster.deletion_protecton", False),
            "cluster.deletion_protecton: unknown key; did you mean deletion_protection?",
        ),
        (
            _set("apps.mlflow.databse", {}),
            "apps.mlflow.databse: unknown key; did you mean database?",
        ),
        (
            _set("cluster.node_pools[0].gpu", {"type": "nvidia-l4", "cuont": 1}),
            "cluster.node_pools[0].gpu.cuont: unknown key; did you mean count?",
        ),
    ],
    ids=["pool", "top-level", "cluster", "built-in-app", "gpu"],
)
def test_a_misspelt_key_names_the_closest_valid_one(mutation: Mutation, line: str) -> None:
    assert f"  - {line}\n" in _errors(mutation) + "\n"


def test_an_unknown_key_unlike_any_lists_the_allowed_ones() -> None:
    message = _errors(_set("ingress.zzz", 1))
    assert (
        "  - ingress.zzz: unknown key; allowed here: backend_timeout_seconds, "
        "connection_draining_seconds (see the config reference in README.md)"
    ) in message
    assert "did you mean" not in message


def test_thirty_custom_apps_pass_with_the_same_certificates() -> None:
    """No certificate per host any more: 30 custom apps, and the certificate set is fixed."""
    data = example_data()
    base = parse_config(example_data())
    data["apps"].update(THIRTY_APPS)
    config = parse_config(data)
    assert len(config.app_hosts) == 32
    assert (
        config.certificate_domains
        == base.certificate_domains
        == [
            "mlops.example.com",
            "*.mlops.example.com",
            "*.jupyterhub.mlops.example.com",
        ]
    )
