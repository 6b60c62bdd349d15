"""The product never reads its tests: a tree without tests/ synthesizes.

The repository's tracked files, tests/ left out, are copied to a temporary
directory and `main.py` runs there with the default config (config/example.yaml),
as `make synth` does. The chart reference data (charts/reference/) is left out
too: only the values checks read it, synthesis never does. Runs one jsii
process (~15 s): in the stacks session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.variants import ROOT, STACK_NAMES

#: Left out of the copy: neither is read by synthesis.
LEFT_OUT = (Path("tests"), Path("charts/reference"))


def tracked_files_outside_tests() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout
    paths = [Path(p) for p in listed.split("\0") if p]
    return [
        p
        for p in paths
        if not any(p.is_relative_to(left_out) for left_out in LEFT_OUT) and (ROOT / p).is_file()
    ]


def test_main_synthesizes_in_a_tree_without_tests(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    files = tracked_files_outside_tests()
    assert Path("main.py") in files
    assert Path("charts/manifests/Chart.yaml") in files
    for relative in files:
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, tree / relative)
    assert not (tree / "tests").exists()
    assert not (tree / "charts" / "reference").exists()

    env = {k: v for k, v in os.environ.items() if k not in ("PLATFORM_CONFIG", "PYTHONPATH")}
    result = subprocess.run(
        [sys.executable, "main.py"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    for stack in STACK_NAMES:
        assert (tree / "cdktf.out" / "stacks" / stack / "cdk.tf.json").is_file(), stack
