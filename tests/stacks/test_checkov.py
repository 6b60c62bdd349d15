"""checkov over every synthesized variant: no failed check.

Skips live in .checkov.yaml, each with its reason. checkov runs from its own
virtualenv (.tools/checkov, installed by `make test`), apart from the app's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.stacks import resources
from tests.support.synth import CHECKOV, CHECKOV_VARIANTS, Synthesized, checkov_input_key

#: checkov takes ~10 s on 2 cores; far beyond that something hangs.
TIMEOUT_SECONDS = 900

#: Checks that crash in checkov 3.3.30 on Terraform JSON (they index every key
#: of a database flag, line-number keys included: "'int' object is not
#: subscriptable"), so they neither pass nor fail: the Cloud SQL flag each one
#: wants is asserted by test_checks_checkov_cannot_run_hold instead.
CHECKS_THAT_CRASH = {
    "CKV_GCP_54": ("log_lock_waits", {"on"}),
    "CKV_GCP_57": ("log_min_messages", {"error", "log", "fatal", "panic"}),
}


def test_checkov_reports_no_failed_check(synthesized: Synthesized) -> None:
    assert CHECKOV.exists(), f"{CHECKOV} missing: run `make test`, which installs it"
    assert synthesized.checkov is not None  # started by the session fixture
    stdout, stderr = synthesized.checkov.output(timeout=TIMEOUT_SECONDS)
    assert stdout.strip(), stderr
    reports = []
    decoder, position = json.JSONDecoder(), 0
    # checkov 3.3.30 prints one JSON document per --directory, each holding
    # the results so far, so a failed check may be listed more than once.
    while position < len(stdout.rstrip()):
        document, position = decoder.raw_decode(stdout, position)
        reports += document if isinstance(document, list) else [document]
        while position < len(stdout) and stdout[position].isspace():
            position += 1
    failed = sorted(
        {
            f"{check['check_id']} {check['resource']} ({check['file_abs_path']}): "
            + check["check_name"]
            for report in reports
            for check in report.get("results", {}).get("failed_checks", [])
        }
    )
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert synthesized.checkov.returncode() == 0, stderr[-3000:]  # 1: failed checks, else error
    crashed = set(re.findall(r"Failed to run check (\w+)", stderr))
    assert crashed <= set(CHECKS_THAT_CRASH), f"checks checkov could not run: {sorted(crashed)}"
    scanned = {
        Path(check["file_abs_path"]).parts[-4:-1]
        for report in reports
        for check in report.get("results", {}).get("passed_checks", [])
    }
    expected = {
        (variant, "stacks", stack)
        for variant in CHECKOV_VARIANTS
        for stack in synthesized.stacks(variant)
    }
    assert expected <= scanned, f"checkov did not scan {sorted(expected - scanned)}"


def test_checks_checkov_cannot_run_hold(synthesized: Synthesized) -> None:
    instances = [
        instance
        for variant in CHECKOV_VARIANTS
        for instance in resources(
            synthesized.stack(variant, "cluster"), "google_sql_database_instance"
        ).values()
    ]
    assert instances
    for instance in instances:
        flags = {flag["name"]: flag["value"] for flag in instance["settings"]["database_flags"]}
        for check, (flag, allowed) in CHECKS_THAT_CRASH.items():
            assert flags.get(flag) in allowed, (check, flag, flags.get(flag))


def test_any_change_to_a_scanned_file_is_a_new_checkov_input(tmp_path: Path) -> None:
    """The replayed verdict (tests/support/synth.py Checkov) is keyed on every
    scanned byte: a stack that changes is scanned again, never replayed."""
    for variant in CHECKOV_VARIANTS:
        stack = tmp_path / variant / "stacks" / "cluster"
        stack.mkdir(parents=True)
        (stack / "cdk.tf.json").write_text('{"resource": {}}')
    before = checkov_input_key(tmp_path)
    assert checkov_input_key(tmp_path) == before
    changed = tmp_path / CHECKOV_VARIANTS[-1] / "stacks" / "cluster" / "cdk.tf.json"
    changed.write_text('{"resource": {"x": {}}}')
    assert checkov_input_key(tmp_path) != before
    (tmp_path / CHECKOV_VARIANTS[0] / "stacks" / "cluster" / "extra.json").write_text("{}")
    assert len({before, checkov_input_key(tmp_path)}) == 2
