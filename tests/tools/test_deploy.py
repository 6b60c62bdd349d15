"""tools/deploy.sh (`make deploy` / `make destroy`) with fake cloud tools on PATH.

Fake `cdktf`, `gcloud`, `ssh` and `curl` record every call, in order, to one
log; nothing real is called and no credentials are needed. In bastion mode the
tunnel must open after the cluster stack and before bootstrap, and close after
bootstrap on every way out.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.stacks import only
from tests.support.synth import Synthesized
from tests.support.variants import ROOT, Json, bastion_data, example_data, own_project

DEPLOY = ROOT / "tools" / "deploy.sh"

#: The fakes are bash scripts: a Python start per call cost ~30 ms, several per test.
BASH = shutil.which("bash") or "/bin/bash"

#: A fake cloud tool (written after a `#!` line naming BASH). Each call is logged
#: as one record: the field count, then the program name and each argument,
#: every field NUL-terminated (NUL is the one byte an argument cannot hold), so
#: parse_fake_log() reads back exactly the argv, whatever it contains.
#: FAKE_HANG_ON: create $FAKE_LOG.hanging, then `exec sleep 60`, so that the signal
#: that ends the hang reaches the sleeping process itself (a bash killed by TERM
#: while it waited for a `sleep` child would leave that child holding the pipes).
FAKE = r"""
name=${0##*/}
printf '%s\0' "$(($# + 1))" "$name" "$@" >>"${FAKE_LOG:?}" || exit 125
words=$name
for arg in "$@"; do words+=" $arg"; done
if [[ -n ${FAKE_HANG_ON-} && $words == *"$FAKE_HANG_ON"* ]]; then
  : >"$FAKE_LOG.hanging"
  exec sleep 60
fi
if [[ $name == curl ]]; then
  if [[ ${FAKE_PROXY_DOWN-} == 1 ]]; then
    printf 000
    exit 7
  fi
  printf 400
  exit 0
fi
if [[ -n ${FAKE_FAIL_ON-} && $words == *"$FAKE_FAIL_ON"* ]]; then
  for ((line = 1; line <= ${FAKE_FAIL_LINES:-0}; line++)); do
    echo "$name says: line $line of its error" >&2
  done
  exit 1
fi
exit 0
"""


#: PYTHON for the scripts: the real `python -m platform_config ...` (0.3 s a
#: start) run once per distinct arguments and config file, then its stdout,
#: stderr and exit status replayed, so each script still gets exactly what the
#: real checker answers. Config files are content-addressed (config_file()),
#: so an identical config has an identical path, as printed in "config OK".
CHECKER_MEMO = r"""
key=$({ printf '%s\0' "$PWD" "${PLATFORM_CONFIG-}" "$@"; } | sha256sum)
answer=${CHECKER_MEMO_DIR:?}/${key%% *}
if [[ ! -f $answer/status ]]; then
  mkdir -p "$answer"
  "${REAL_PYTHON:?}" "$@" >"$answer/stdout" 2>"$answer/stderr"
  echo $? >"$answer/status"
fi
cat "$answer/stdout"
cat "$answer/stderr" >&2
exit "$(cat "$answer/status")"
"""


def memo_dir(tmp_path: Path) -> Path:
    """Shared by every test of the session (tmp_path's parent is pytest's basetemp)."""
    return tmp_path.parent / "config-checker-memo"


def config_file(tmp_path: Path, text: str) -> Path:
    """The config as a file named by its content, so the checker memo can reuse answers."""
    directory = memo_dir(tmp_path) / "configs"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (hashlib.sha256(text.encode()).hexdigest() + ".yaml")
    path.write_text(text)
    return path


def checker_env(tmp_path: Path, fakes: Path) -> dict[str, str]:
    python = fakes / "python-checker-memo"
    python.write_text(f"#!{BASH}{CHECKER_MEMO}")
    python.chmod(0o755)
    return {
        "PYTHON": str(python),
        "REAL_PYTHON": sys.executable,
        "CHECKER_MEMO_DIR": str(memo_dir(tmp_path)),
    }


def install_fakes(tmp_path: Path, *tools: str) -> Path:
    """FAKE as each of `tools` in tmp_path/bin (returned, for PATH)."""
    fakes = tmp_path / "bin"
    fakes.mkdir(exist_ok=True)
    for tool in tools:
        fake = fakes / tool
        fake.write_text(f"#!{BASH}{FAKE}")
        fake.chmod(0o755)
    return fakes


def run_deploy(
    tmp_path: Path, data: Json, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    process = start_deploy(tmp_path, data, *args, **env)
    stdout, stderr = process.communicate(timeout=60)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return result, calls(tmp_path)


def start_deploy(tmp_path: Path, data: Json, *args: str, **env: str) -> subprocess.Popen[str]:
    fakes = install_fakes(tmp_path, "cdktf", "gcloud", "ssh", "curl")
    config = config_file(tmp_path, yaml.safe_dump(data))
    return subprocess.Popen(
        [str(DEPLOY), *args],
        env={
            "PATH": f"{fakes}:{Path(sys.executable).parent}:/usr/bin:/bin",
            **checker_env(tmp_path, fakes),
            "PLATFORM_CONFIG": str(config),
            "FAKE_LOG": str(tmp_path / "calls.log"),
            "TMPDIR": str(tmp_path),
            "TUNNEL_READY_ATTEMPTS": "3",
            "TUNNEL_RETRY_SECONDS": "0",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as under a terminal
    )


def calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "calls.log"
    if not log.exists():
        return []
    return parse_fake_log(log.read_bytes())


def parse_fake_log(data: bytes) -> list[list[str]]:
    """The argv of each call, from FAKE's count-prefixed, NUL-terminated records."""
    fields = data.split(b"\0")
    assert fields.pop() == b"", f"log ends inside a field: {data[-80:]!r}"
    recorded = []
    start = 0
    while start < len(fields):
        count = fields[start]
        assert re.fullmatch(rb"[1-9][0-9]*", count), f"not a field count: {count!r}"
        end = start + 1 + int(count)
        assert end <= len(fields), f"truncated record: {fields[start:]!r}"
        recorded.append([os.fsdecode(field) for field in fields[start + 1 : end]])
        start = end
    return recorded


def program_steps(recorded: list[list[str]]) -> list[str]:
    """Each call as `<program> <verb> <first operand>`, curl probes left out."""
    steps = []
    for call in recorded:
        if call[:2] == ["gcloud", "auth"]:
            continue  # the credential checks: test_credentials_checked_before_anything
        if call[0] == "cdktf":
            stacks = [a for a in call[2:] if not a.startswith("-")]
            steps.append(f"cdktf {call[1]} {' '.join(stacks)}")
        elif call[0] == "gcloud":
            steps.append("open tunnel")
        elif call[0] == "ssh" and "-O" in call:
            steps.append(f"ssh -O {call[call.index('-O') + 1]}")
        elif call[0] != "curl":
            steps.append(" ".join(call))
    return steps


# --- the fakes themselves ------------------------------------------------------------------

#: Arguments a shell or a log format could mangle: each must come back from the log as is.
HOSTILE_ARGS: list[str | bytes] = [
    "",
    " ",
    "two  words ",
    "'",
    '"',
    "a;b",
    "$(touch pwned)",
    "`touch pwned`",
    "${FAKE_LOG}",
    "\\",
    "\\0",
    "\n",
    "line\nbreak\n",
    "\t\r",
    "%s%n%b",
    "-n",
    "-e",
    "--",
    "*",
    "3",
    "\x1b[31m\x7f",
    "été ✓",
    b"\xff\xfe not UTF-8",
]


def test_fake_log_round_trips_any_argv(tmp_path: Path) -> None:
    fake = install_fakes(tmp_path, "gcloud") / "gcloud"
    env = {"PATH": "/usr/bin:/bin", "FAKE_LOG": str(tmp_path / "calls.log")}
    for args in (HOSTILE_ARGS, [], [""], ["auth", "login"]):
        subprocess.run([fake, *args], env=env, cwd=tmp_path, check=True, timeout=10)
    assert calls(tmp_path) == [
        ["gcloud", *map(os.fsdecode, HOSTILE_ARGS)],
        ["gcloud"],
        ["gcloud", ""],
        ["gcloud", "auth", "login"],
    ]
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("tool", "args", "env", "answer"),
    [
        ("curl", ["http://127.0.0.1:8888/"], {}, (0, "400")),
        ("curl", ["http://127.0.0.1:8888/"], {"FAKE_PROXY_DOWN": "1"}, (7, "000")),
        ("ssh", ["-O", "exit"], {"FAKE_FAIL_ON": "ssh -O exit"}, (1, "")),
        ("ssh", ["-O exit"], {"FAKE_FAIL_ON": "ssh -O exit"}, (1, "")),  # the words, joined
        ("ssh", ["-Oexit"], {"FAKE_FAIL_ON": "ssh -O exit"}, (0, "")),
        ("ssh", ["-O", "exit"], {"FAKE_FAIL_ON": "*"}, (0, "")),  # a substring, not a pattern
    ],
)
def test_fake_answers(
    tmp_path: Path, tool: str, args: list[str], env: dict[str, str], answer: tuple[int, str]
) -> None:
    """Exit status and stdout of a fake call (FAKE_HANG_ON: test_tunnel_closed_when_interrupted)."""
    fake = install_fakes(tmp_path, tool) / tool
    result = subprocess.run(
        [fake, *args],
        env={"PATH": "/usr/bin:/bin", "FAKE_LOG": str(tmp_path / "calls.log"), **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (*answer, "")
    assert calls(tmp_path) == [[tool, *args]]


# --- make deploy / destroy ----------------------------------------------------------------


def test_dns_mode_is_one_cdktf_call_and_no_tunnel(tmp_path: Path) -> None:
    result, recorded = run_deploy(tmp_path, own_project(example_data()), "deploy", "--auto-approve")
    assert result.returncode == 0, result.stderr
    # The config check's line is for the person: stderr, not the script's output.
    assert result.stderr.startswith("config OK: ")
    assert result.stdout == ""
    assert recorded[-1:] == [
        ["cdktf", "deploy", "network", "cluster", "bootstrap", "--auto-approve"]
    ]
    assert program_steps(recorded) == ["cdktf deploy network cluster bootstrap"]


def test_bastion_deploy_opens_the_tunnel_between_cluster_and_bootstrap(
    tmp_path: Path, synthesized: Synthesized
) -> None:
    result, recorded = run_deploy(tmp_path, own_project(bastion_data()), "deploy", "--auto-approve")
    assert result.returncode == 0, result.stderr
    assert program_steps(recorded) == [
        "cdktf deploy network cluster",
        "open tunnel",
        "cdktf deploy bootstrap",
        "ssh -O exit",
    ]
    assert recorded[-2] == [
        "cdktf",
        "deploy",
        "bootstrap",
        "--ignore-missing-stack-dependencies",
        "--skip-synth",
        "--auto-approve",
    ]
    # Bootstrap starts only once the proxy answered through the tunnel.
    assert [c[0] for c in recorded].index("curl") < recorded.index(recorded[-2])
    # The tunnel goes to the VM the cluster stack creates, on the providers' proxy port.
    gcloud = next(c for c in recorded if c[:3] == ["gcloud", "compute", "ssh"])
    vm = only(synthesized.stack("bastion", "cluster"), "google_compute_instance")
    provider = synthesized.stack("bastion", "bootstrap")["provider"]["kubernetes"][0]
    port = provider["proxy_url"].rsplit(":", 1)[1]
    assert gcloud[:3] == ["gcloud", "compute", "ssh"]
    assert gcloud[3] == vm["name"]
    assert gcloud[gcloud.index("--zone") + 1] == vm["zone"]
    assert gcloud[gcloud.index("--project") + 1] == own_project(bastion_data())["project_id"]
    assert "--tunnel-through-iap" in gcloud
    assert gcloud[gcloud.index("-L") + 1] == f"{port}:localhost:{port}"
    socket = next(a for a in gcloud if a.startswith("ControlPath="))
    close = recorded[-1]
    assert close[:3] == ["ssh", "-o", socket] and close[3:5] == ["-O", "exit"]


def test_bastion_destroy_closes_the_tunnel_before_the_bastion_goes(tmp_path: Path) -> None:
    result, recorded = run_deploy(tmp_path, own_project(bastion_data()), "destroy")
    assert result.returncode == 0, result.stderr
    assert program_steps(recorded) == [
        "open tunnel",
        "cdktf destroy bootstrap",
        "ssh -O exit",
        "cdktf destroy cluster",
        "cdktf destroy network",
    ]


@pytest.mark.parametrize("action", ["deploy", "destroy"])
def test_tunnel_closed_when_bootstrap_fails(tmp_path: Path, action: str) -> None:
    result, recorded = run_deploy(
        tmp_path, own_project(bastion_data()), action, FAKE_FAIL_ON=f"cdktf {action} bootstrap"
    )
    assert result.returncode != 0
    steps = program_steps(recorded)
    assert steps[-2:] == [f"cdktf {action} bootstrap", "ssh -O exit"]
    assert not any(step.startswith(f"cdktf {action} cluster") for step in steps[-2:])


def test_no_tunnel_when_the_cluster_stack_fails(tmp_path: Path) -> None:
    result, recorded = run_deploy(
        tmp_path, own_project(bastion_data()), "deploy", FAKE_FAIL_ON="cdktf deploy"
    )
    assert result.returncode != 0
    assert program_steps(recorded) == ["cdktf deploy network cluster"]


def test_no_bootstrap_when_the_proxy_never_answers(tmp_path: Path) -> None:
    result, recorded = run_deploy(
        tmp_path, own_project(bastion_data()), "deploy", FAKE_PROXY_DOWN="1"
    )
    assert result.returncode != 0
    assert "did not answer through the tunnel" in result.stderr
    assert program_steps(recorded) == ["cdktf deploy network cluster", "open tunnel", "ssh -O exit"]
    assert [c[0] for c in recorded].count("curl") == 3


def test_no_bootstrap_when_the_tunnel_does_not_open(tmp_path: Path) -> None:
    result, recorded = run_deploy(
        tmp_path, own_project(bastion_data()), "deploy", FAKE_FAIL_ON="gcloud compute ssh"
    )
    assert result.returncode != 0
    assert "could not open the IAP tunnel" in result.stderr
    assert "cdktf deploy bootstrap" not in program_steps(recorded)


@pytest.mark.parametrize(
    ("signal_number", "to_group"),
    [
        pytest.param(signal.SIGTERM, False, id="TERM-to-the-script"),
        pytest.param(signal.SIGINT, True, id="Ctrl-C-to-the-process-group"),
    ],
)
def test_tunnel_closed_when_interrupted(tmp_path: Path, signal_number: int, to_group: bool) -> None:
    process = start_deploy(
        tmp_path, own_project(bastion_data()), "deploy", FAKE_HANG_ON="cdktf deploy bootstrap"
    )
    hanging = tmp_path / "calls.log.hanging"
    deadline = time.monotonic() + 30
    while not hanging.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hanging.exists(), "bootstrap never started"
    if to_group:
        os.killpg(process.pid, signal_number)
    else:
        process.send_signal(signal_number)
    process.communicate(timeout=30)
    assert process.returncode in (130, 143)
    assert program_steps(calls(tmp_path))[-1] == "ssh -O exit"


def test_bad_config_refused_before_any_cloud_call(tmp_path: Path) -> None:
    data: dict[str, Any] = own_project(bastion_data())
    data["cluster"]["control_plane_access"] = "public"
    result, recorded = run_deploy(tmp_path, data, "deploy")
    assert result.returncode == 2
    assert "cluster.control_plane_access" in result.stderr
    assert "Traceback" not in result.stderr
    assert recorded == []


@pytest.mark.parametrize("args", [[], ["apply"], ["--auto-approve"]])
def test_unknown_action_refused(tmp_path: Path, args: list[str]) -> None:
    result, recorded = run_deploy(tmp_path, own_project(example_data()), *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert recorded == []


def test_script_port_is_the_bastion_proxy_port(synthesized: Synthesized) -> None:
    provider = synthesized.stack("bastion", "bootstrap")["provider"]["kubernetes"][0]
    assert f"PROXY_PORT={provider['proxy_url'].rsplit(':', 1)[1]}\n" in DEPLOY.read_text()


def test_makefile_deploy_and_destroy_go_through_the_script() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\ttools/deploy.sh deploy $(DEPLOY_FLAGS)\n" in makefile
    assert "\ttools/deploy.sh destroy $(DEPLOY_FLAGS)\n" in makefile
    assert os.access(DEPLOY, os.X_OK)


# --- make plan ---------------------------------------------------------------------------


def test_plan_diffs_each_stack_in_order(tmp_path: Path) -> None:
    result, recorded = run_deploy(tmp_path, own_project(example_data()), "plan", "--no-color")
    assert result.returncode == 0, result.stderr
    assert [c for c in recorded if c[0] == "cdktf"] == [
        ["cdktf", "diff", "network", "--no-color"],
        ["cdktf", "diff", "cluster", "--skip-synth", "--no-color"],
        ["cdktf", "diff", "bootstrap", "--skip-synth", "--no-color"],
    ]


def test_plan_of_some_stacks_in_bastion_mode_tunnels_for_bootstrap(tmp_path: Path) -> None:
    result, recorded = run_deploy(
        tmp_path, own_project(bastion_data()), "plan", STACKS="cluster bootstrap"
    )
    assert result.returncode == 0, result.stderr
    assert program_steps(recorded) == [
        "cdktf diff cluster",
        "open tunnel",
        "cdktf diff bootstrap",
        "ssh -O exit",
    ]


def test_plan_refuses_an_unknown_stack(tmp_path: Path) -> None:
    result, recorded = run_deploy(
        tmp_path, own_project(example_data()), "plan", STACKS="network; rm -rf /"
    )
    assert result.returncode == 2
    assert "unknown stack" in result.stderr
    assert recorded == []


@pytest.mark.parametrize("action", ["plan", "deploy", "destroy"])
@pytest.mark.parametrize(
    ("missing", "hint"),
    [
        ("gcloud auth print-access-token", "gcloud auth login"),
        ("gcloud auth application-default", "gcloud auth application-default login"),
    ],
)
def test_credentials_checked_before_anything(
    tmp_path: Path, action: str, missing: str, hint: str
) -> None:
    result, recorded = run_deploy(
        tmp_path, own_project(example_data()), action, FAKE_FAIL_ON=missing
    )
    assert result.returncode == 1
    assert hint in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
    assert not [c for c in recorded if c[0] != "gcloud" or c[1] != "auth"]


# --- make state-bucket --------------------------------------------------------------------

STATE_BUCKET = ROOT / "tools" / "state_bucket.sh"


def run_state_bucket(
    tmp_path: Path, data: Json | str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    fakes = install_fakes(tmp_path, "gcloud")
    config = config_file(tmp_path, data if isinstance(data, str) else yaml.safe_dump(data))
    result = subprocess.run(
        [str(STATE_BUCKET)],
        env={
            "PATH": f"{fakes}:{Path(sys.executable).parent}:/usr/bin:/bin",
            **checker_env(tmp_path, fakes),
            "PLATFORM_CONFIG": str(config),
            "FAKE_LOG": str(tmp_path / "calls.log"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, calls(tmp_path)


def test_state_bucket_refuses_a_bad_config_before_gcloud(tmp_path: Path) -> None:
    data = own_project(example_data())
    data["state_bucket"] = "gs://$(touch /tmp/pwned)"
    result, recorded = run_state_bucket(tmp_path, data)
    assert result.returncode == 2
    assert recorded == []
    assert result.stderr.count("invalid platform config") == 1
    assert "Traceback" not in result.stderr


def test_state_bucket_creates_then_versions(tmp_path: Path) -> None:
    data = own_project(example_data())
    result, recorded = run_state_bucket(tmp_path, data, FAKE_FAIL_ON="buckets describe")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("config OK: ")
    assert "config OK" not in result.stdout
    bucket = f"gs://{data['state_bucket']}"
    assert [[*c[1:4], c[4]] for c in recorded] == [
        ["storage", "buckets", "describe", bucket],
        ["storage", "buckets", "create", bucket],
        ["storage", "buckets", "update", bucket],
    ]
    create = recorded[1]
    assert create[create.index("--project") + 1] == data["project_id"]
    assert create[create.index("--location") + 1] == data["region"]
    assert "--public-access-prevention" in create
    assert "--uniform-bucket-level-access" in create
    assert "--versioning" in recorded[2]


def test_state_bucket_stops_when_create_fails(tmp_path: Path) -> None:
    result, recorded = run_state_bucket(
        tmp_path, own_project(example_data()), FAKE_FAIL_ON="buckets"
    )
    assert result.returncode == 1
    assert "could not create" in result.stderr
    assert [c[3] for c in recorded] == ["describe", "create"]


# --- first-deploy guards (issue 19, item 6) -----------------------------------------------


def run_operator(
    tmp_path: Path, target: str, data: Json, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """`make <target>`'s script: state-bucket, or deploy.sh with the action."""
    if target == "state-bucket":
        return run_state_bucket(tmp_path, data, **env)
    return run_deploy(tmp_path, data, target, **env)


@pytest.mark.parametrize("target", ["state-bucket", "plan", "deploy", "destroy"])
def test_the_example_placeholder_project_is_refused_before_any_cloud_call(
    tmp_path: Path, target: str
) -> None:
    """The untouched example config: one line (what is wrong, what to do), exit 2,
    no gcloud or cdktf call (today state-bucket would create gs://example-mlops-tfstate)."""
    data = example_data()
    assert data["project_id"] == "example-mlops-project"
    result, recorded = run_operator(tmp_path, target, data)
    assert (result.returncode, result.stdout, recorded) == (2, "", [])
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "example-mlops-project" in lines[0]
    assert "PLATFORM_CONFIG" in lines[0] and "your own" in lines[0]


@pytest.mark.parametrize("target", ["state-bucket", "plan", "deploy", "destroy"])
def test_an_own_project_passes_the_guard(tmp_path: Path, target: str) -> None:
    """The same config with the operator's project goes on to the cloud calls."""
    result, recorded = run_operator(tmp_path, target, own_project(example_data()))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("config OK: ")
    assert "acme-mlops-dev" in result.stderr
    assert recorded


#: How much of gcloud's own text a failed call may print after the script's hint.
GCLOUD_TEXT_MAX_LINES = 11


def hint_then_gcloud_text(stderr: str, hint: str) -> list[str]:
    """The script's hint comes before any of gcloud's text; returns gcloud's lines."""
    lines = stderr.splitlines()
    hint_at = next((i for i, line in enumerate(lines) if hint in line), None)
    assert hint_at is not None, stderr
    gcloud_at = [i for i, line in enumerate(lines) if "gcloud says:" in line]
    assert gcloud_at, f"gcloud's text is gone: {stderr}"
    assert hint_at < gcloud_at[0], f"gcloud's text before the hint:\n{stderr}"
    # One hint line: what failed and what to check.
    assert len(lines[hint_at]) <= 200, lines[hint_at]
    # gcloud's text right after the hint, indented, bounded; the script's own
    # lines (e.g. closing the tunnel) may follow.
    block = list(itertools.takewhile(lambda line: line.startswith("  "), lines[hint_at + 1 :]))
    assert set(gcloud_at) <= set(range(hint_at + 1, hint_at + 1 + len(block))), stderr
    assert len(block) <= GCLOUD_TEXT_MAX_LINES, stderr
    return [lines[i] for i in gcloud_at]


@pytest.mark.parametrize(
    ("fail_on", "hint"),
    [
        # describe fails (no bucket yet), then create fails
        ("buckets", "state_bucket.sh: could not create gs://"),
        ("buckets update", "state_bucket.sh: could not turn on versioning of gs://"),
    ],
)
def test_state_bucket_gcloud_failure_hint_first(tmp_path: Path, fail_on: str, hint: str) -> None:
    # "buckets update": describe succeeds (the bucket exists), then versioning fails.
    env = {"FAKE_FAIL_ON": fail_on, "FAKE_FAIL_LINES": "40"}
    result, _ = run_state_bucket(tmp_path, own_project(example_data()), **env)
    assert result.returncode == 1
    shown = hint_then_gcloud_text(result.stderr, hint)
    # gcloud's last words (its ERROR line) are kept, the start is cut.
    assert shown[-1].endswith("line 40 of its error")
    assert not any(line.endswith(" line 1 of its error") for line in shown)


def test_state_bucket_short_gcloud_text_shown_whole(tmp_path: Path) -> None:
    env = {"FAKE_FAIL_ON": "buckets", "FAKE_FAIL_LINES": "3"}
    result, _ = run_state_bucket(tmp_path, own_project(example_data()), **env)
    shown = hint_then_gcloud_text(result.stderr, "state_bucket.sh: could not create gs://")
    assert [line.rsplit(": ", 1)[1] for line in shown] == [
        f"line {n} of its error" for n in (1, 2, 3)
    ]


def test_tunnel_gcloud_failure_hint_first(tmp_path: Path) -> None:
    result, recorded = run_deploy(
        tmp_path,
        own_project(bastion_data()),
        "deploy",
        FAKE_FAIL_ON="gcloud compute ssh",
        FAKE_FAIL_LINES="11",
    )
    assert result.returncode != 0
    hint_then_gcloud_text(result.stderr, "deploy.sh: could not open the IAP tunnel")
    assert "cdktf deploy bootstrap" not in program_steps(recorded)
