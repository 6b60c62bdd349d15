"""One X-Forwarded-Client-Cert parser, shipped twice.

The hub's authenticator and MLflow's authorization function each run as a
self-contained file in another process (shipped as text into the charts'
values), so each carries its own `_peer_uris`. Both decide whose identity
header to believe; a fix to one that misses the other would make one of them
trust a forged caller. This test keeps the two definitions the same code.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.variants import ROOT

SHIPPED = (
    ROOT / "platform_services" / "jupyterhub" / "authenticator.py",
    ROOT / "platform_services" / "mlflow" / "scripts" / "platform_mlflow_auth.py",
)


def _definition(path: Path, name: str) -> str:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.dump(node, include_attributes=False)
    raise AssertionError(f"{path.name} defines no {name}")


def test_both_shipped_files_parse_xfcc_with_the_same_code() -> None:
    first, second = (_definition(path, "_peer_uris") for path in SHIPPED)
    assert first == second, "the XFCC parsers differ: change both files alike"
