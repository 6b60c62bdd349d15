"""config/schema.json is current, and a real editor aid: it rejects what the model rejects."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from platform_config import ConfigError, parse_config
from platform_config.schema import JSON_SCHEMA_DIALECT, config_json_schema, render
from tests.conftest import EXAMPLE_CONFIG, ROOT, Json, example_data

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
