"""The product never reads its tests: the session's stacks come from a tree without them.

tests/conftest.py synthesizes every variant in a copy of the repository's
files without tests/ and charts/reference/ (only the values checks read the
reference data), running main.py's build_app there in a process of its own.
These tests check that copy, so the claim cannot quietly stop being tested.
On a tree where synthesis read tests/fixtures/charts (before that data moved
to charts/reference/), the session synth fails with FileNotFoundError.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.synth import LEFT_OUT, Synthesized, product_files
from tests.support.variants import STACK_NAMES, VARIANTS


def test_the_session_synthesized_from_a_tree_without_tests(synthesized: Synthesized) -> None:
    tree = synthesized.product_tree
    assert (tree / "main.py").is_file()
    assert (tree / "charts" / "manifests" / "Chart.yaml").is_file()
    for left_out in LEFT_OUT:
        assert not (tree / left_out).exists(), left_out
    for variant in VARIANTS:
        for stack in STACK_NAMES:
            assert synthesized.stack_file(variant, stack).is_file(), (variant, stack)


def test_the_product_tree_is_everything_else() -> None:
    files = product_files()
    assert Path("main.py") in files
    assert Path("platform_services/registry.py") in files
    assert not [f for f in files if f.parts[0] == "tests"]
    assert not [f for f in files if f.is_relative_to("charts/reference")]
