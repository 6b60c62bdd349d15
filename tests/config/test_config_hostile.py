"""Hostile config files: each is rejected clearly and cheaply, or read as plain data.

The loader's promise (issue #11): no file makes it hang, use more than ~100 MB,
take more than 2 s or print a traceback, and every message is short.
`python -m platform_config` runs in a subprocess with its address space capped
(RLIMIT_AS), so an expansion that escaped the bounds would die of MemoryError
with a traceback, which the test reports.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from platform_config import ConfigError, load_config, parse_config
from platform_config.yaml_reader import MAX_FILE_BYTES, YamlError, parse_yaml
from tests.support.variants import EXAMPLE_CONFIG, ROOT, Json, child_cpu_seconds, example_data

EXAMPLE_TEXT = EXAMPLE_CONFIG.read_text(encoding="utf-8")
#: Address-space cap for the checker: a real bound on its memory (it needs ~35 MB).
MEMORY_LIMIT_BYTES = 128 * 1024 * 1024
#: The whole error report stays this small, whatever the input.
MAX_REPORT_CHARS = 20_000


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def check_config_subprocess(path: Path | str) -> tuple[int, str, str, float]:
    """`python -m platform_config PATH` as make check-config runs it, memory-capped.

    The last value is the command's CPU time (see conftest.child_cpu_seconds)."""
    started = child_cpu_seconds()
    result = subprocess.run(
        [sys.executable, "-m", "platform_config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        preexec_fn=_limit_memory,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return result.returncode, result.stdout, result.stderr, child_cpu_seconds() - started


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _replace(old: str, new: str) -> Callable[[], str]:
    def text() -> str:
        assert old in EXAMPLE_TEXT, old
        return EXAMPLE_TEXT.replace(old, new, 1)

    return text


# (case, file text, words the one-line report must contain)
HOSTILE_FILES: list[tuple[str, Callable[[], str], str]] = [
    (
        "duplicate section",
        lambda: EXAMPLE_TEXT + "access:\n  iap_members: [user:mallory@example.com]\n",
        "duplicate key 'access' (first at line 10)",
    ),
    (
        "duplicate nested key",
        _replace("  argocd_sign_in: iap", "  argocd_sign_in: iap\n  argocd_sign_in: google_oidc"),
        "duplicate key 'argocd_sign_in' (first at line 15)",
    ),
    ("nested aliases (billion laughs)", _billion_laughs, "anchors and aliases"),
    ("an anchor alone", _replace("revision: main", "revision: &r main"), "anchors and aliases"),
    ("merge key", lambda: "x: {a: 1}\n<<: {environment: dev}\n", "merge keys"),
    ("deep nesting", lambda: "a: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32"),
    (
        "a flow list of 100000 values",
        lambda: "a: [" + ",".join(["1"] * 100_000) + "]\n",
        "more than 5000 values",
    ),
    (
        "deep block nesting",
        lambda: "".join("  " * i + f"k{i}:\n" for i in range(200)),
        "nested more than 32",
    ),
    (
        "integer of thousands of digits",
        _replace("min_nodes: 1", "min_nodes: " + "9" * 5000),
        "a number of 5000 digits",
    ),
    ("binary tag", _replace("revision: main", "revision: !!binary JHsiYSJ9"), "binary"),
    ("python tag", lambda: "a: !!python/object:os.system [ls]\n", "is not supported"),
    ("set tag", _replace("revision: main", "revision: !!set {a, b}"), "is not supported"),
    ("non-text key", lambda: EXAMPLE_TEXT + "1: one\n", "the key 1 is not text"),
    ("invalid UTF-8", lambda: "environment: \udcff\n", "not UTF-8"),
    ("tab indentation", lambda: "access:\n\tiap_members: []\n", "YAML syntax error at line 2"),
    (
        "template syntax",
        _replace("revision: main", 'revision: "${file(\\"/etc/passwd\\")}"'),
        "gitops.revision: contains '${', Terraform template syntax",
    ),
    (
        "template directive",
        _replace("path: apps", 'path: "%{ for x in [1] }a%{ endfor }"'),
        "gitops.path: contains '%{'",
    ),
    ("NUL", _replace("revision: main", 'revision: "ma\\0in"'), "contains '\\x00'"),
    (
        "zero-width space",
        _replace(
            "admin@example.com]\n  argocd_default", "adm\u200bin@example.com]\n  argocd_default"
        ),
        "contains '\\u200b'",
    ),
    (
        "Cyrillic look-alike",
        _replace(
            "admin@example.com]\n  argocd_default", "\u0430dmin@example.com]\n  argocd_default"
        ),
        "printable ASCII only",
    ),
    ("newline in a key", lambda: EXAMPLE_TEXT + '"a\\nb": 1\n', "contains '\\n'"),
    (
        "huge value quoted briefly",
        _replace("revision: main", "revision: " + "x" * 100_000 + "!"),
        "characters)",
    ),
]


@pytest.mark.parametrize(
    ("make_text", "words"), [pytest.param(m, w, id=c) for c, m, w in HOSTILE_FILES]
)
def test_hostile_file_is_rejected_in_one_short_line(
    tmp_path: Path, make_text: Callable[[], str], words: str
) -> None:
    path = tmp_path / "hostile.yaml"
    text = make_text()
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    started = time.process_time()  # CPU time: robust to a busy CI machine
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    elapsed = time.process_time() - started
    report = str(caught.value)
    assert words in report, report
    assert len(report) < 2_000, f"{len(report)} characters"
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_a_date_where_text_is_expected_is_read_as_text(tmp_path: Path) -> None:
    """YAML 1.1 would make these a date (or fail on an impossible one)."""
    for revision in ("2026-01-01", "2026-02-30", "2026-01-01t10:00:00z"):
        path = tmp_path / "dated.yaml"
        path.write_text(EXAMPLE_TEXT.replace("revision: main", f"revision: {revision}"))
        if revision.endswith("z"):
            with pytest.raises(ConfigError, match=r"gitops.revision: got '2026-01-01t10:00:00z'"):
                load_config(path)
        else:
            assert load_config(path).gitops.revision == revision


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(ConfigError, match=f"a config file has at most {MAX_FILE_BYTES}"):
        load_config(path)


def test_parse_yaml_bounds_text_too() -> None:
    with pytest.raises(YamlError, match="more than"):
        parse_yaml("a: 1\n" * MAX_FILE_BYTES)


def _special_paths(tmp_path: Path) -> dict[str, Path | str]:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    return {
        "fifo without a writer": fifo,
        "character device": "/dev/zero",
        "symlink loop": loop,
        "directory": tmp_path,
        "path of 5000 characters": "x" * 5000,
        "missing": tmp_path / "nope.yaml",
    }


SPECIAL_PATH_WORDS = {
    "fifo without a writer": "not a regular file",
    "character device": "not a regular file",
    "symlink loop": "symbolic links",
    "directory": "it is a directory",
    "path of 5000 characters": "the path is 5000 characters long",
    "missing": "file not found",
}


@pytest.mark.parametrize("case", list(SPECIAL_PATH_WORDS))
def test_paths_that_are_not_config_files(tmp_path: Path, case: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_special_paths(tmp_path)[case])
    assert SPECIAL_PATH_WORDS[case] in str(caught.value)


@pytest.mark.parametrize(
    "case",
    [
        "nested aliases (billion laughs)",
        "integer of thousands of digits",
        "deep nesting",
        "a flow list of 100000 values",
    ],
)
def test_check_config_exits_2_bounded_without_traceback(tmp_path: Path, case: str) -> None:
    """The real command, memory-capped: exit 2, no traceback, small report, < 2 s."""
    make_text = next(m for c, m, _ in HOSTILE_FILES if c == case)
    path = tmp_path / "hostile.yaml"
    path.write_text(make_text())
    code, _, stderr, elapsed = check_config_subprocess(path)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert len(stderr) < MAX_REPORT_CHARS
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_check_config_on_a_fifo_and_dev_zero_returns_at_once(tmp_path: Path) -> None:
    paths = _special_paths(tmp_path)
    for case in ("fifo without a writer", "character device", "symlink loop"):
        code, _, stderr, elapsed = check_config_subprocess(paths[case])
        assert code == 2, stderr
        assert "Traceback" not in stderr
        assert SPECIAL_PATH_WORDS[case] in stderr
        assert elapsed < 2.0, f"{case}: {elapsed:.2f} s"


def test_many_problems_make_a_bounded_report() -> None:
    data = example_data()
    data["cluster"]["node_pools"] = [
        {"name": f"P{i}", "min_nodes": "x" * 10_000, "max_nodes": -1} for i in range(40)
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    report = str(caught.value)
    assert "... and " in report and "more problems" in report
    assert len(report) < MAX_REPORT_CHARS
    assert all(len(line) <= 610 for line in report.splitlines())


def _with(mutate: Callable[[Json], None]) -> Json:
    data = example_data()
    mutate(data)
    return data


# (case, mutation, field, words): identity-like fields and derived names.
STRICT_FIELDS: list[tuple[str, Callable[[Json], None], str, str]] = [
    (
        "upper-case admin email",
        lambda d: d["access"].update(argocd_admins=["Admin@Example.com"]),
        "access.argocd_admins[0]",
        "in lower case",
    ),
    (
        "two addresses in one",
        lambda d: d["access"].update(argocd_admins=["a@example.com,b@example.com"]),
        "access.argocd_admins[0]",
        "one lowercase email address",
    ),
    (
        "quote in an email",
        lambda d: d["access"].update(argocd_admins=['"a"@example.com']),
        "access.argocd_admins[0]",
        "email address",
    ),
    (
        "policy line in an email",
        lambda d: d["apps"]["jupyterhub"].update(admin_users=["a@example.com role:admin"]),
        "apps.jupyterhub.admin_users[0]",
        "email address",
    ),
    (
        "upper-case member",
        lambda d: d["access"].update(iap_members=["group:ML@example.com"]),
        "access.iap_members[0]",
        "in lower case",
    ),
    (
        "members that differ only in punctuation",
        lambda d: d["access"].update(iap_members=["user:a.b@example.com", "user:a-b@example.com"]),
        "access.iap_members",
        "would share the Terraform address 'user-a-b-example-com'",
    ),
    (
        "https URL with a token",
        lambda d: d["gitops"].update(repo_url="https://x-access:tok@github.com/o/r.git"),
        "gitops.repo_url",
        "no password",
    ),
    (
        "URL with a query",
        lambda d: d["gitops"].update(repo_url="https://github.com/o/r.git?ref=x"),
        "gitops.repo_url",
        "https://, ssh:// or git@host",
    ),
    (
        "URL host not a DNS name",
        lambda d: d["gitops"].update(repo_url="https://GitHub.com/o/r.git"),
        "gitops.repo_url",
        "https://",
    ),
    (
        "URL port out of range",
        lambda d: d["gitops"].update(repo_url="ssh://git@github.com:99999/o/r.git"),
        "gitops.repo_url",
        "the port must be 1-65535",
    ),
    (
        "URL path escaping",
        lambda d: d["gitops"].update(repo_url="https://github.com/o/../r.git"),
        "gitops.repo_url",
        "https://",
    ),
    (
        "chart repo with a user",
        lambda d: d["apps"]["mlflow"].update(chart_repo="https://u@charts.example.com"),
        "apps.mlflow.chart_repo",
        "https:// or oci://",
    ),
    (
        "revision starting with a dash",
        lambda d: d["gitops"].update(revision="--upload-pack=x"),
        "gitops.revision",
        "a branch, tag or commit",
    ),
    (
        "path with ..",
        lambda d: d["gitops"].update(path="apps/../../etc"),
        "gitops.path",
        "no '..'",
    ),
    (
        "app namespace kube-system",
        lambda d: d["apps"]["mlflow"].update(namespace="kube-system"),
        "apps.mlflow.namespace",
        "is reserved",
    ),
    (
        "app namespace external-secrets",
        lambda d: d["apps"]["mlflow"].update(namespace="external-secrets"),
        "apps.mlflow.namespace",
        "is reserved",
    ),
    (
        "app namespace gmp-system",
        lambda d: d["apps"]["jupyterhub"].update(namespace="gmp-system"),
        "apps.jupyterhub.namespace",
        "is reserved",
    ),
    (
        "two apps share a namespace",
        lambda d: d["apps"]["jupyterhub"].update(namespace="mlflow"),
        "apps.mlflow.namespace",
        "'mlflow' is already used by apps.jupyterhub",
    ),
    (
        "custom app named argocd",
        lambda d: d["apps"].update(
            argocd={
                "chart_repo": "https://charts.example.com",
                "chart": "x",
                "chart_version": "1.0.0",
                "values_file": "mlflow.yaml",
                "service": "x",
                "service_port": 80,
            }
        ),
        "apps.argocd",
        "reserved",
    ),
    (
        "custom app named root (construct id app-root)",
        lambda d: d["apps"].update(
            root={
                "chart_repo": "https://charts.example.com",
                "chart": "x",
                "chart_version": "1.0.0",
                "values_file": "mlflow.yaml",
                "namespace": "team-root",
                "host": "team-root",
                "service": "x",
                "service_port": 80,
            }
        ),
        "apps.root",
        "reserved for the platform",
    ),
    (
        "bastion zone outside the region",
        lambda d: d.update(
            cluster={
                **d["cluster"],
                "control_plane_access": "bastion",
                "bastion": {"zone": "us-east1-b"},
            },
            access={**d["access"], "bastion_members": ["user:alice@example.com"]},
        ),
        "cluster.bastion.zone",
        "is not in region 'europe-west4'",
    ),
    (
        "reserved label key",
        lambda d: d["labels"].update({"managed-by": "me"}),
        "labels",
        "is set by the platform",
    ),
    (
        "label value that is no Kubernetes label",
        lambda d: d["labels"].update({"team": "-ml-"}),
        "labels.team",
        "start and end with a letter or digit",
    ),
    (
        "hundreds of apps",
        lambda d: d["apps"].update(
            {f"app{i}": {"enabled": False, "values_file": "mlflow.yaml"} for i in range(300)}
        ),
        "apps",
        "302 apps: at most 50",
    ),
    (
        "state bucket naming Google",
        lambda d: d.update(state_bucket="my-google-tfstate"),
        "state_bucket",
        "GCS refuses bucket names",
    ),
    (
        "project id that makes a bucket name GCS refuses",
        lambda d: d.update(project_id="google-ml-platform"),
        "project_id",
        "MLflow's artifact bucket name 'google-ml-platform-example-mlflow-artifacts'",
    ),
    (
        "values file of 5000 characters",
        lambda d: d["apps"]["mlflow"].update(values_file="a" * 5000 + ".yaml"),
        "apps.mlflow.values_file",
        "(5005 characters)",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "field", "words"), [pytest.param(m, f, w, id=c) for c, m, f, w in STRICT_FIELDS]
)
def test_strict_field(mutation: Callable[[Json], None], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_with(mutation), "strict.yaml")
    report = str(caught.value)
    assert f"  - {field}:" in report or f"  - {field}[" in report, report
    assert words in report, report


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repo_url", "https://github.com/example/gitops.git"),
        ("repo_url", "https://git.example.com:8443/team/gitops"),
        ("repo_url", "ssh://git@github.com:22/example/gitops.git"),
        ("repo_url", "git@gitlab.example.com:group/sub/gitops.git"),
        ("revision", "release/2026-01"),
        ("revision", "v1.2.3+build"),
        ("revision", "0123abcd"),
        ("path", "."),
        ("path", "clusters/prod/apps"),
    ],
)
def test_ordinary_git_values_are_accepted(field: str, value: str) -> None:
    data = example_data()
    data["gitops"][field] = value
    if field == "repo_url" and value.startswith("https://"):
        data["gitops"]["private"] = True
    assert getattr(parse_config(data).gitops, field) == value


def test_values_file_must_be_bounded_yaml_mapping(team_values_dir: Path) -> None:
    """Checked by the config, so synth never meets a broken values file."""
    cases = {
        "list.yaml": ("- a\n", "must hold a mapping"),
        "dup.yaml": ("a: 1\na: 2\n", "duplicate key 'a'"),
        "broken.yaml": ("a: [\n", "YAML syntax error"),
        "forged.yaml": ("a: ${TfToken[TOKEN.1]}\n", "cdktf token marker"),
    }
    for name, (text, words) in cases.items():
        (team_values_dir / name).write_text(text)
        data = example_data()
        data["apps"]["mlflow"]["values_file"] = name
        with pytest.raises(ConfigError, match=words.replace("[", r"\[")):
            parse_config(data)


def test_example_yaml_round_trip_is_unchanged() -> None:
    """The bounded reader reads the example exactly as PyYAML's safe loader does."""
    assert parse_yaml(EXAMPLE_TEXT) == yaml.safe_load(EXAMPLE_TEXT)
