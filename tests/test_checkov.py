"""checkov over every synthesized variant: no failed check.

Skips live in .checkov.yaml, each with its reason. checkov runs from its own
virtualenv (.tools/checkov, installed by `make test`), apart from the app's.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CHECKOV, Synthesized

#: checkov takes ~10 s on 2 cores; far beyond that something hangs.
TIMEOUT_SECONDS = 900


def test_checkov_reports_no_failed_check(synthesized: Synthesized) -> None:
    assert CHECKOV.exists(), f"{CHECKOV} missing: run `make test`, which installs it"
    assert synthesized.checkov is not None  # started by the session fixture
    stdout, stderr = synthesized.checkov.output(timeout=TIMEOUT_SECONDS)
    assert stdout.strip(), stderr
    reports = json.loads(stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    scanned = {
        Path(check["file_path"]).parts[-4:-1]
        for report in reports
        for check in report.get("results", {}).get("passed_checks", [])
    }
    expected = {
        (variant, "stacks", stack)
        for variant in ("example", "bastion")
        for stack in synthesized.stacks(variant)
    }
    assert expected <= scanned, f"checkov did not scan {sorted(expected - scanned)}"
