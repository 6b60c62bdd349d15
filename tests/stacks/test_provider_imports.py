"""Lazy provider imports: unused bindings stay unloaded, used ones still resolve.

That the synthesized JSON is unchanged is proven by the snapshot tests: the
checked-in snapshots were made with the providers' eager imports.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from jsii import _reference_map

from stacks.provider_imports import (
    _SUBMODULE_IMPORT,
    LAZY_PACKAGES,
    install,
    jsii_imports_types_on_demand,
    jsii_submodule_name,
)
from tests.support.synth import Synthesized


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def _submodules(package: str) -> list[str]:
    return _SUBMODULE_IMPORT.findall((_package_dir(package) / "__init__.py").read_text())


@pytest.mark.parametrize(
    ("python_name", "jsii_name"),
    [
        ("provider", "provider"),
        ("container_node_pool", "containerNodePool"),
        ("namespace_v1", "namespaceV1"),
        ("project_iam_member", "projectIamMember"),
    ],
)
def test_jsii_submodule_name(python_name: str, jsii_name: str) -> None:
    assert jsii_submodule_name(python_name) == jsii_name


@pytest.mark.parametrize("package", sorted(LAZY_PACKAGES))
def test_every_submodule_maps_to_the_jsii_types_it_defines(package: str) -> None:
    """The FQN map jsii uses to import a submodule on demand is exact, for all of them."""
    submodules = _submodules(package)
    assert len(submodules) >= 3, f"{package}: the eager import list was not found"
    wrong = {}
    for name in submodules:
        text = (_package_dir(package) / name / "__init__.py").read_text()
        defined = set(re.findall(r'jsii_type="@cdktf/provider-[a-z]+\.(\w+)\.', text))
        if defined != {jsii_submodule_name(name)}:
            wrong[name] = defined
    assert not wrong


def test_the_session_loaded_only_the_bindings_the_app_uses(synthesized: Synthesized) -> None:
    """After synthesizing every variant, almost all google bindings stay unloaded."""
    loaded = {
        name.split(".")[1]
        for name in sys.modules
        if name.startswith("cdktf_cdktf_provider_google.")
    }
    total = len(_submodules("cdktf_cdktf_provider_google"))
    assert "container_cluster" in loaded
    assert len(loaded) < total / 10, f"{len(loaded)} of {total} google submodules loaded"


def test_a_type_from_an_unloaded_submodule_is_imported_on_demand() -> None:
    """What jsii does when it must deserialize a type the app never imported."""
    module = "cdktf_cdktf_provider_google.workflows_workflow"
    fqn = "@cdktf/provider-google.workflowsWorkflow.WorkflowsWorkflow"
    assert module not in sys.modules
    assert fqn not in _reference_map._types
    assert _reference_map._try_import_type_module(fqn)
    assert module in sys.modules
    assert fqn in _reference_map._types


def test_install_is_idempotent() -> None:
    before = list(sys.meta_path)
    install()
    assert sys.meta_path == before


def test_the_pinned_jsii_imports_types_on_demand() -> None:
    """Without it install() would leave the eager imports alone (and the tests above fail)."""
    assert jsii_imports_types_on_demand()
