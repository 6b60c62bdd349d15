"""`python -m platform_config [FILE] [--print-facts NAME...]`, called in-process.

The plain check is what `make check-config` and `make synth` run; --print-facts
is how tools/deploy.sh and tools/state_bucket.sh read the values they pass to
gcloud from one validated load (tests/tools/test_deploy.py runs the scripts).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from platform_config import __main__ as cli
from tests.support.variants import (
    EXAMPLE_CONFIG,
    Json,
    bastion_data,
    example_data,
    own_project,
    thirty_apps_data,
)


def _write(tmp_path: Path, data: Json, name: str = "platform.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_plain_check_prints_config_ok_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, example_data())
    code, out, err = _check([str(path)], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"config OK: {path} (environment example, ")
    assert out.count("\n") == 1


def test_thirty_custom_apps_pass_check_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _check([str(_write(tmp_path, thirty_apps_data()))], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("config OK: ")


def test_plain_check_reads_platform_config_and_a_dash_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_CONFIG", str(_write(tmp_path, bastion_data())))
    code, out, _ = _check([], capsys)
    assert code == 0
    assert "bastion access" in out
    # FILE is the first argument, whatever it looks like (as before --print-facts).
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, example_data(), name="-dash.yaml")
    code, out, _ = _check(["-dash.yaml"], capsys)
    assert code == 0
    assert out.startswith("config OK: -dash.yaml ")


@pytest.mark.parametrize(
    "data", [own_project(example_data()), own_project(bastion_data())], ids=["dns", "bastion"]
)
def test_print_facts_one_per_line_in_the_order_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: Json
) -> None:
    path = _write(tmp_path, data)
    names = ["bastion_zone", "project_id", "region", "state_bucket"]
    names += ["control_plane_access", "bastion_vm", "project_id"]
    code, out, err = _check([str(path), "--print-facts", *names], capsys)
    assert code == 0, err
    access = data["cluster"]["control_plane_access"]
    assert out.split("\n") == [
        f"{data['region']}-b",
        data["project_id"],
        data["region"],
        data["state_bucket"],
        access,
        f"{data['cluster']['name']}-{data['environment']}-gke-bastion",  # the cluster stack's VM
        data["project_id"],
        "",
    ]
    # The human line goes to stderr, so stdout is only the facts.
    assert err.startswith(f"config OK: {path} ")
    assert f"{access} access" in err


def test_print_facts_reads_platform_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = own_project(bastion_data())
    data["cluster"]["bastion"] = {"zone": "europe-west4-c"}
    monkeypatch.setenv("PLATFORM_CONFIG", str(_write(tmp_path, data)))
    code, out, _ = _check(["--print-facts", "bastion_zone", "control_plane_access"], capsys)
    assert (code, out) == (0, "europe-west4-c\nbastion\n")


@pytest.mark.parametrize(
    "name",
    [
        "nope",
        "names.bastion",
        "cluster.control_plane_access",
        "access.bastion_members",
        "gitops",
        "__class__",
        "model_dump",
        "",
        "project_id\n",
        "PROJECT_ID",
    ],
)
def test_unknown_fact_is_a_usage_error_before_the_file_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    missing = tmp_path / "missing.yaml"
    code, out, err = _check([str(missing), "--print-facts", "project_id", name], capsys)
    assert (code, out) == (2, "")
    assert "unknown fact" in err
    assert "usage: python -m platform_config" in err
    assert "invalid platform config" not in err  # refused before loading anything


@pytest.mark.parametrize(
    "argv",
    [["--print-facts"], ["x.yaml", "--print-facts"], ["x.yaml", "--print-fact", "region"]],
    ids=["no-name", "file-no-name", "misspelt-option"],
)
def test_other_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = _check(argv, capsys)
    assert (code, out) == (2, "")
    assert "usage: python -m platform_config" in err
    assert "invalid platform config" not in err


def test_the_example_placeholder_project_checks_but_gives_no_facts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The untouched example synthesizes (`make synth`, `make test`), but the
    facts are what the operator scripts pass to gcloud and cdktf: refused, in
    one line saying what to do."""
    monkeypatch.delenv("PLATFORM_CONFIG", raising=False)
    code, out, err = _check([], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"config OK: {EXAMPLE_CONFIG} ")
    for argv in (["--print-facts", "region"], [str(EXAMPLE_CONFIG), "--print-facts", "project_id"]):
        code, out, err = _check(argv, capsys)
        assert (code, out) == (2, "")
        assert err.count("\n") == 1, err
        assert "project_id example-mlops-project is the example config's placeholder" in err
        assert "set PLATFORM_CONFIG to your own config" in err


def test_bad_config_prints_its_error_once_and_no_facts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = example_data()
    data["state_bucket"] = "gs://$(touch /tmp/pwned)"
    path = _write(tmp_path, data)
    code, out, err = _check([str(path), "--print-facts", "project_id", "state_bucket"], capsys)
    assert (code, out) == (2, "")
    assert err.count("invalid platform config") == 1
    assert "state_bucket" in err
    assert "config OK" not in err


def test_a_fact_that_is_not_one_line_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cli.FACTS, "region", lambda config: f"{config.region}\nx")
    path = _write(tmp_path, own_project(example_data()))
    code, out, err = _check([str(path), "--print-facts", "project_id", "region"], capsys)
    assert (code, out) == (2, "")
    assert "region is not a single line" in err


def _every_stage_wrong() -> Json:
    """One error or more in each stage of the check, in independent sections."""
    data = example_data()
    data["labels"] = {"team": 'ml${file("/etc/passwd")}'}  # the data-never-code walk
    data["network"]["subnet_cidr"] = "10.10.0.0/33"  # a field
    data["ingress"] = {"timout": 60}  # an unknown key
    data["cluster"]["control_plane_access"] = "bastion"  # rule: no bastion_members
    data["apps"]["jupyterhub"]["host"] = "argocd"  # rule: reserved host
    data["apps"]["mlflow"]["namespace"] = "kube-mlflow"  # rule: reserved namespace
    data["gitops"]["namespaces"] = ["istio-ingress"]  # rule: the gitops lane
    data["cluster"]["name"] = "ml-platform"  # rule: derived names (with the environment)
    data["environment"] = "production-eu"
    return data


def test_one_run_reports_every_error_of_every_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _every_stage_wrong())
    code, out, err = _check([str(path)], capsys)
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    expected = [
        "  - labels.team: contains '${'",
        "  - network.subnet_cidr: ",
        "  - ingress.timout: unknown key",
        "  - access.bastion_members: is empty but cluster.control_plane_access is bastion",
        "  - apps.jupyterhub.host: host 'argocd' is reserved",
        "  - apps.mlflow.namespace: namespace 'kube-mlflow' is reserved",
        "  - gitops.namespaces[0]: 'istio-ingress' would let the team's Applications into",
        "  - cluster.name: makes the node service account id",
        "  - cluster.name: makes the bastion's service account id",
    ]
    for words in expected:
        assert err.count(words) == 1, (words, err)
    assert err.count("\n  - ") == len(expected), err


def test_a_rule_that_reads_an_invalid_field_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the field's own error: no rule guesses from a value that did not validate."""
    data = example_data()
    data["cluster"]["name"] = "Not_A_Label"
    data["environment"] = "production-eu"
    code, out, err = _check([str(_write(tmp_path, data))], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n  - ") == 1, err
    assert "  - cluster.name: got 'Not_A_Label'" in err
    # A rule that does not read the invalid field still runs.
    data["cluster"]["name"] = "ml-platform"
    data["labels"] = {"team": 1}
    code, out, err = _check([str(_write(tmp_path, data))], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n  - ") == 2, err
    assert "  - labels.team: got 1; " in err
    assert "  - cluster.name: makes the node service account id" in err
