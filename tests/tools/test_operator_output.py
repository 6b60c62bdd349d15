"""What the Makefile's environment does to cdktf-cli's output (issue #13: quiet output)."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.variants import ROOT

CDKTF_CLI_BUNDLE = ROOT / "node_modules" / "cdktf-cli" / "bundle" / "bin" / "cmds" / "handlers.js"


def _make_recipe_environment(variable: str) -> str:
    """The value a recipe of the Makefile sees (exported), read through make itself."""
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-s",
            "-f",
            str(ROOT / "Makefile"),
            "--eval",
            f"print-env: ; @printf '%s' \"$${variable}\"",
            "print-env",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_cdktf_cli_memory_warning_is_not_triggered() -> None:
    """cdktf-cli 0.21 warns ("may need an increased amount of memory ... TypeScript")
    whenever NODE_OPTIONS is set without the flag it looks for; read the flag from
    its source, and check that the environment `make deploy`/`make plan` give it
    carries that flag."""
    source = CDKTF_CLI_BUNDLE.read_text(encoding="utf-8")
    warning = source.index("The synthesizing step for TypeScript may need an increased amount")
    # The minified check just before the warning text (cdktf-cli 0.21.0):
    # w="--max-old-space-size",R=`${w}=4096`;I.NODE_OPTIONS&&!I.NODE_OPTIONS.includes(w)?warn
    found = re.search(
        r'(\w+)="(--[a-z-]+)",\w+=`\$\{\1\}=(\d+)`;\w+\.NODE_OPTIONS&&'
        r"!\w+\.NODE_OPTIONS\.includes\(\1\)",
        source[warning - 600 : warning],
    )
    assert found, "cdktf-cli's NODE_OPTIONS check changed: re-read handlers.js"
    flag, cli_default = found.group(2), found.group(3)
    node_options = _make_recipe_environment("NODE_OPTIONS").split()
    assert f"{flag}={cli_default}" in node_options, node_options
    assert "--no-deprecation" in node_options


@pytest.mark.parametrize("target", ["plan", "deploy", "destroy"])
def test_make_checks_config_and_credentials_before_any_synth(target: str) -> None:
    """`make plan|deploy|destroy` with the example's placeholder project or
    without credentials must fail at once, not after a synth: nothing
    synthesizes before tools/deploy.sh (which checks the config and the
    credentials, then lets its first cdktf call synthesize)."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-f", str(ROOT / "Makefile"), target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = result.stdout.splitlines()
    script = [i for i, line in enumerate(commands) if f"tools/deploy.sh {target}" in line]
    assert script, commands
    before = commands[: script[0]]
    assert not any("main.py" in line or "cdktf " in line for line in before), before
