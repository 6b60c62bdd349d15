"""The layout is a contract: constructs apart from builders, config before jsii.

- platform_config/, platform_builders/ and every service module except
  `service.py` and `cloud.py` are pure: importing them loads no cdktf,
  constructs or jsii (the config is validated, and builders tested, in
  milliseconds without a ~1 GB node kernel).
- every module of platform_constructs/ defines a cdktf construct.
- stacks only compose: no stack module names a service.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.support.variants import ROOT

PURE_PACKAGES = ("platform_config", "platform_builders", "platform_services")
#: In a service package, the modules that create constructs.
CONSTRUCT_MODULES = ("service.py", "cloud.py")
JSII_MODULES = ("cdktf", "constructs", "jsii")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def pure_modules() -> list[str]:
    found = []
    for package in PURE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name in CONSTRUCT_MODULES or "scripts" in path.parts:
                continue
            found.append(_module_name(path))
    return found


PROBE = """
import importlib, json, sys
loaded = {}
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    jsii = sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[2:])
    if jsii:
        loaded[name] = jsii[:3]
        break
print(json.dumps(loaded))
"""


def test_pure_modules_load_no_jsii() -> None:
    modules = pure_modules()
    assert "platform_config.model" in modules
    assert "platform_services.registry" in modules
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules), *JSII_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {}, (
        "a pure module (config, builder, service declaration) imports cdktf: "
        f"{result.stdout.strip()}; move the construct code into service.py or cloud.py"
    )


def _defines_construct(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id == "Construct" for base in node.bases)
        for node in tree.body
    )


def test_every_constructs_module_defines_a_construct() -> None:
    modules = sorted((ROOT / "platform_constructs").glob("[!_]*.py"))
    assert len(modules) > 10
    not_constructs = [
        path.name for path in modules if not _defines_construct(ast.parse(path.read_text()))
    ]
    assert not_constructs == [], "pure builders belong in platform_builders/ or a service package"


def test_stacks_name_no_service() -> None:
    from platform_services.registry import BUILT_IN_SERVICES

    names = {*BUILT_IN_SERVICES, "jupyter", "mlflow", "argo", "istio"}
    for path in sorted((ROOT / "stacks").glob("*.py")):
        if path.name == "provider_imports.py":
            continue
        named = sorted(
            {
                name
                for identifier in _identifiers(ast.parse(path.read_text()))
                for name in names
                if name in identifier.lower()
            }
        )
        assert named == [], f"{path.name} names services {named}: stacks only compose"


def _identifiers(tree: ast.Module) -> set[str]:
    """Every name the code uses (variables, attributes, imports, keywords, defs)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            found.add(node.name)
    return found


def test_no_test_file_imports_another() -> None:
    """Shared helpers live in tests/support/; a test file is never a library."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                last = node.module.rsplit(".", 1)[-1]
                if node.module.startswith("tests.") and (
                    last.startswith("test_") or last == "conftest"
                ):
                    offenders.append(f"{path.relative_to(ROOT)} imports {node.module}")
    assert offenders == []
