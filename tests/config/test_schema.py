"""config/schema.json is current, and a real editor aid: it rejects what the model rejects."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError, validators  # type: ignore[import-untyped]

from platform_config import ConfigError, parse_config
from platform_config.schema import JSON_SCHEMA_DIALECT, config_json_schema, render
from tests.support.variants import EXAMPLE_CONFIG, ROOT, Json, example_data, set_path

SCHEMA_FILE = ROOT / "config" / "schema.json"


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = config_json_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator: Any, data: Json) -> list[str]:
    """Every schema error as '<json path>: <message>'."""
    return sorted(f"{e.json_path}: {e.message}" for e in validator.iter_errors(data))


def test_schema_file_is_current() -> None:
    expected = render(config_json_schema())
    actual = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert actual == expected, (
        "config/schema.json is stale (the config model changed): run `make schema` "
        "and commit the result"
    )


def test_schema_declares_its_dialect_and_purpose() -> None:
    schema = config_json_schema()
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert "$id" not in schema
    assert schema["title"]
    assert "make schema" in schema["description"]


def test_example_config_points_editors_at_the_schema() -> None:
    first_line = EXAMPLE_CONFIG.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./schema.json"
    assert SCHEMA_FILE.parent == EXAMPLE_CONFIG.parent


def test_example_config_validates(validator: Any) -> None:
    assert _errors(validator, example_data()) == []


def test_custom_apps_are_typed_as_app_config(validator: Any) -> None:
    """Extra keys under apps are AppConfig, so editors complete custom apps too."""
    schema = config_json_schema()
    assert schema["$defs"]["AppsConfig"]["additionalProperties"] == {"$ref": "#/$defs/AppConfig"}
    data = example_data()
    data["apps"]["label-studio"] = {
        "chart_repo": "https://charts.heartex.com/",
        "chart": "label-studio",
        "chart_version": "1.9.0",
        "values_file": "jupyterhub.yaml",
        "service": "label-studio-ls-app",
        "service_port": 80,
    }
    assert _errors(validator, data) == []


def test_field_docstrings_become_descriptions() -> None:
    """Hover help in the editor comes from the model's attribute docstrings.

    Needs `use_attribute_docstrings=True` in StrictModel.model_config.
    """
    defs = config_json_schema()["$defs"]
    iap_members = defs["AccessConfig"]["properties"]["iap_members"]
    assert "iap.httpsResourceAccessor" in iap_members.get("description", "")
    access = defs["ClusterConfig"]["properties"]["control_plane_access"]
    assert "bastion" in access.get("description", "")
    assert defs["AppConfig"]["properties"]["service"].get("description")


Mutation = Callable[[Json], None]


def _custom_app(app: Json) -> Mutation:
    def mutate(data: Json) -> None:
        data["apps"]["extra"] = app

    return mutate


_VALID_CUSTOM_APP: Json = {
    "chart_repo": "https://example.com/charts",
    "chart": "extra",
    "chart_version": "1.0.0",
    "values_file": "jupyterhub.yaml",
    "service": "extra",
    "service_port": 80,
}

BAD_DOCUMENTS: dict[str, tuple[Mutation, str]] = {
    "unknown top-level key": (
        lambda d: d.update(enviroment="typo"),
        "$: Additional properties are not allowed ('enviroment' was unexpected)",
    ),
    "unknown nested key": (
        lambda d: d["cluster"].update(deletion_protecton=False),
        "$.cluster: Additional properties are not allowed ('deletion_protecton' was unexpected)",
    ),
    "control_plane_access not in the enum": (
        lambda d: d["cluster"].update(control_plane_access="public"),
        "$.cluster.control_plane_access: 'public' is not one of ['dns', 'bastion']",
    ),
    "wrong type": (
        lambda d: d["cluster"]["node_pools"][0].update(min_nodes="one"),
        "$.cluster.node_pools[0].min_nodes: 'one' is not of type 'integer'",
    ),
    "missing required section": (
        lambda d: d.pop("access"),
        "$: 'access' is a required property",
    ),
    "custom app without its chart": (
        _custom_app({k: v for k, v in _VALID_CUSTOM_APP.items() if k != "chart"}),
        "$.apps.extra: 'chart' is a required property",
    ),
    "custom app with an unknown key": (
        _custom_app({**_VALID_CUSTOM_APP, "chart_verison": "1.0.0"}),
        "$.apps.extra: Additional properties are not allowed ('chart_verison' was unexpected)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DOCUMENTS))
def test_bad_documents_fail_schema_and_model(validator: Any, case: str) -> None:
    mutate, expected_error = BAD_DOCUMENTS[case]
    data = copy.deepcopy(example_data())
    mutate(data)
    assert expected_error in _errors(validator, data)
    # The schema only warns earlier; the model must reject the same document.
    with pytest.raises(ConfigError):
        parse_config(data)


def test_every_field_has_a_description() -> None:
    schema = config_json_schema()
    missing = [
        f"{owner}.{name}"
        for owner, definition in [("(root)", schema), *schema["$defs"].items()]
        for name, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []


#: field path -> (values both schema and loader accept, values both reject).
#: Single-field rules only: each value is checked in the example config.
AGREEMENT_CORPUS: dict[str, tuple[list[Any], list[Any]]] = {
    "environment": (
        ["dev", "a", "prod-eu1", "abcdefghijklm"],
        ["Prod", "-dev", "dev-", "abcdefghijklmn", "d_v", "dev${x}", "", 7],
    ),
    "project_id": (
        ["example-mlops-project", "abcdef"],
        ["abc", "Example-proj", "proj-", "1project", "p" * 31],
    ),
    "region": (["europe-west4", "us-central1"], ["europe west4", "EU", "europe-west4-b"]),
    "state_bucket": (["tf-state_1.x"], ["UPPER", "-bucket", "ab", "b" * 64]),
    "domain": (
        ["mlops.example.com", "a.b.co"],
        ["https://x.example.com", "x.example.com.", "X.example.com", "localhost", "x.com/a"],
    ),
    "labels": (
        [{"team": "ml"}, {"cost-center": ""}, {"a_b": "x-1"}],
        [{"Team": "x"}, {"team": "-x"}, {"t": "X"}, {"t-": "x"}, {"t": "x" * 64}],
    ),
    "access.iap_members[0]": (
        [
            "group:ml-team@example.com",
            "user:first.last+tag@example.com",
            "domain:example.com",
            "serviceAccount:ci@example-mlops-project.iam.gserviceaccount.com",
        ],
        [
            "alice@example.com",
            "user:Alice@example.com",
            "user:a,b@example.com",
            "allUsers",
            "user:alice@example.com ",
            'user:"a"@example.com',
            "user:",
        ],
    ),
    "access.argocd_admins": (
        [[], ["admin@example.com", "b@example.com"]],
        [["Admin@example.com"], ["a@example.com, role:admin"], ["a@example.com\n"], "x"],
    ),
    "access.argocd_default_role": (["none", "readonly"], ["admin", None]),
    "cluster.name": (["mlops", "a1"], ["1mlops", "ml_ops", "Mlops", "m" * 41]),
    "cluster.release_channel": (["STABLE"], ["stable", "BETA"]),
    "cluster.node_pools[0].machine_type": (["e2-standard-4", "n2d-highmem-8"], ["E2", "e2"]),
    "cluster.node_pools[0].min_nodes": ([0, 3], [-1, 101, "1x", 1.5]),
    "cluster.node_pools[0].disk_size_gb": ([20, 2000], [19, 2001]),
    "cluster.bastion.zone": (["europe-west4-b"], ["europe-west4", "europe-west4-bb"]),
    "gitops.repo_url": (
        [
            "git@github.com:example/gitops.git",
            "ssh://git@github.com:22/example/gitops.git",
        ],
        [
            "http://github.com/x.git",
            "https://tok@github.com/x.git",
            "https://github.com/x.git?ref=y",
            "git@github.com:${x}",
            "ftp://example.com/x",
        ],
    ),
    "gitops.revision": (
        ["main", "v1.2.3", "release/2026-01", "a+b_c"],
        ["", "-x", "/main", "main/", "a..b", "a b", "ma'in", "x" * 201],
    ),
    "gitops.path": ([".", "apps", "clusters/prod.eu/apps"], ["/apps", "../x", "a//b", ""]),
    "apps.jupyterhub.storage_size": (["10Gi", "500Mi"], ["10G", "0Gi", "10 Gi"]),
    "apps.jupyterhub.cull_idle_minutes": ([5, 10080], [4, 10081]),
    "apps.mlflow.chart_version": (["1.11.5", "2.0.0-rc.1"], ["^1.0.0", "1.0", "latest"]),
    "apps.mlflow.chart": (["mlflow"], ["ML Flow", "-mlflow"]),
    "apps.mlflow.service_port": ([1, 65535], [0, 65536]),
    "apps.mlflow.database.tier": (["db-custom-2-7680"], ["custom", "db-"]),
    "apps.mlflow.values_file": (["mlflow.yaml"], ["../mlflow.yaml", "a/b.yaml", "mlflow.json"]),
    "dns.managed_zone": (["mlops-example-com", None], ["Zone", "zone_1"]),
}

#: Rules only the loader checks (the schema accepts these values).
LOADER_ONLY: dict[str, list[Any]] = {
    # CIDR arithmetic: a valid, private network address.
    "network.subnet_cidr": ["10.10.0.0/33", "8.8.0.0/20", "10.10.0.1/20"],
    # URL parsing beyond the pattern: port range, '..' segments.
    "gitops.repo_url": ["ssh://git@github.com:99999/x.git", "https://github.com/a/../b.git"],
    # A file that must exist in helm-values/.
    "apps.mlflow.values_file": ["missing.yaml"],
    # Reserved names.
    "apps.mlflow.namespace": ["kube-system", "argocd"],
    # IAP's managed client admits only the organization's domains (example.com here).
    "access.iap_members[0]": ["user:first.last+tag@example.co.uk", "domain:example.org"],
}


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """JSON Schema's `pattern` as editors run it (ECMA-262: `$` is the end of input).

    Python's `re` also lets `$` match before a final newline, so jsonschema
    would accept "a@example.com\n", which an editor (and the loader) rejects.
    """
    if isinstance(instance, str) and pattern.endswith("$"):
        pattern = pattern[:-1] + r"\Z"
    if isinstance(instance, str) and not re.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@pytest.fixture(scope="module")
def editor_validator() -> Any:
    editor = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
    return editor(config_json_schema())


def _agreement(validator: Any, path: str, value: Any) -> tuple[bool, bool]:
    data = copy.deepcopy(example_data())
    set_path(data, path, value)
    schema_ok = not list(validator.iter_errors(data))
    try:
        parse_config(data)
        loader_ok = True
    except ConfigError:
        loader_ok = False
    return schema_ok, loader_ok


@pytest.mark.parametrize("path", list(AGREEMENT_CORPUS))
def test_schema_and_loader_agree_on_single_field_values(editor_validator: Any, path: str) -> None:
    good, bad = AGREEMENT_CORPUS[path]
    for value in good:
        assert _agreement(editor_validator, path, value) == (True, True), f"{path} = {value!r}"
    for value in bad:
        assert _agreement(editor_validator, path, value) == (False, False), f"{path} = {value!r}"


@pytest.mark.parametrize("path", list(LOADER_ONLY))
def test_loader_only_rules_are_what_the_readme_says(editor_validator: Any, path: str) -> None:
    for value in LOADER_ONLY[path]:
        assert _agreement(editor_validator, path, value) == (True, False), f"{path} = {value!r}"
