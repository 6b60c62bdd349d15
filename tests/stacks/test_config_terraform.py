"""The synthesized JSON, read as Terraform reads it, holds the config's strings as text.

Terraform evaluates every JSON string as a template: ``${`` interpolates,
``%{`` runs a directive, ``$${`` and ``%%{`` are the escapes for the characters
themselves. So each string is read back with `terraform_literal_value`
(checked against `terraform console` when terraform is installed), and:

- the only live syntax anywhere is cdktf's own references to objects that
  exist in the stack (``${google_x.name.attr}``, ``${data.x.y.z}``);
- the hostile variant's Helm values (free text full of ``${``/``%{``) reach the
  chart exactly as written in the file;
- every free-form config string of that variant appears exactly, as a whole
  value, somewhere in what Terraform reads (labels with the keys as written,
  members, emails in policy.csv, the repo URL, revision and path).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from platform_builders.terraform_literal import (
    CDKTF_TOKEN,
    escape_template,
    terraform_literal_value,
)
from tests.support.stacks import resources
from tests.support.synth import Synthesized
from tests.support.terraform import REFERENCE, live_syntax_problems, terraform_view
from tests.support.variants import HOSTILE_VALUES_TEXT, STACK_NAMES, VARIANTS, Json, hostile_data


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_only_live_syntax_is_references_cdktf_wrote(
    synthesized: Synthesized, variant: str
) -> None:
    for stack_name in synthesized.stacks(variant):
        problems = live_syntax_problems(synthesized.stack(variant, stack_name))
        assert not problems, f"{variant}/{stack_name}: {problems[:5]}"


def test_hostile_config_strings_come_out_exactly(synthesized: Synthesized) -> None:
    data = hostile_data()
    seen: set[str] = set()
    for stack_name in STACK_NAMES:
        seen |= set(terraform_view(synthesized.stack("hostile", stack_name)))
    expected = [
        *data["labels"],
        *data["labels"].values(),
        *data["access"]["iap_members"],
        *data["access"]["argocd_admins"],
        data["gitops"]["repo_url"],
        data["gitops"]["revision"],
        data["gitops"]["path"],
        data["apps"]["team-app"]["chart_repo"],
        data["apps"]["team-app"]["chart_version"],
        data["project_id"],
        data["domain"],
    ]
    missing = [value for value in expected if value and value not in seen]
    assert not missing, f"not found verbatim in what Terraform reads: {missing}"


def test_labels_arrive_exactly_as_written(synthesized: Synthesized) -> None:
    """Provider default labels (cdktf would snake-case their keys) and resource labels."""
    labels = hostile_data()["labels"]
    for stack_name in STACK_NAMES:
        (provider,) = synthesized.stack("hostile", stack_name)["provider"]["google"]
        assert provider["default_labels"] == {
            **labels,
            "managed-by": "cdktf",
            "environment": "hostile",
        }
    cluster = synthesized.stack("hostile", "cluster")
    (gke,) = resources(cluster, "google_container_cluster").values()
    assert gke["resource_labels"] == {**labels, "environment": "hostile"}
    for pool in resources(cluster, "google_container_node_pool").values():
        node_labels = pool["node_config"]["labels"]
        assert {key: node_labels[key] for key in labels} == labels


def _custom_app_values(synthesized: Synthesized) -> Json:
    bootstrap = synthesized.stack("hostile", "bootstrap")
    release = resources(bootstrap, "helm_release")
    (team_app,) = [r for r in release.values() if r["name"] == "app-team-app"]
    (raw,) = team_app["values"]
    text, live = terraform_literal_value(raw)
    assert all(REFERENCE.fullmatch(opener) for opener in live), live  # namespaces, by reference
    values = yaml.safe_load(text)["applications"]["team-app"]["source"]["helm"]["valuesObject"]
    assert isinstance(values, dict)
    return values


def test_free_text_helm_values_reach_the_chart_exactly(synthesized: Synthesized) -> None:
    assert _custom_app_values(synthesized) == yaml.safe_load(HOSTILE_VALUES_TEXT)


def test_the_escape_is_needed(synthesized: Synthesized) -> None:
    """Without the escape the same values would be live Terraform: the check above can fail."""
    values = _custom_app_values(synthesized)
    _, live = terraform_literal_value(json.dumps(values))
    assert any("file(" in opener for opener in live)
    assert any(opener.startswith("%{ for") for opener in live)


@pytest.mark.parametrize(
    "text",
    [
        '${file("/etc/passwd")}',
        "%{ if true }x%{ endif }",
        "$${x} %%{ y }",
        "$$${x}",
        "5$ and 7% and {braces}",
        "a${TfToken[TOKEN.1]}b${c}",
    ],
)
def test_escape_round_trip(text: str) -> None:
    literal, live = terraform_literal_value(escape_template(text))
    assert literal == text
    assert live == [m.group() for m in CDKTF_TOKEN.finditer(text)]


def test_a_dollar_before_a_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="right before a Terraform reference"):
        escape_template("cost 5$" + "${TfToken[TOKEN.1]}")


TERRAFORM = shutil.which("terraform")


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed")
def test_terraform_reads_escaped_strings_as_we_do(tmp_path: Path) -> None:
    """The reader above is Terraform's reading: checked with `terraform console` once."""
    samples = [escape_template(line) for line in HOSTILE_VALUES_TEXT.splitlines()] + [
        "$$$${x}",
        "%%%{",
        "a$${b}c",
    ]
    (tmp_path / "main.tf.json").write_text(
        json.dumps({"locals": {f"s{i}": text for i, text in enumerate(samples)}})
    )
    expression = "jsonencode([" + ", ".join(f"local.s{i}" for i in range(len(samples))) + "])"
    result = subprocess.run(
        [str(TERRAFORM), "console"],
        input=expression,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin", "TF_CLI_CONFIG_FILE": "/dev/null", "HOME": str(tmp_path)},
    )
    read_by_terraform = json.loads(json.loads(result.stdout.strip()))
    assert read_by_terraform == [terraform_literal_value(text)[0] for text in samples]
