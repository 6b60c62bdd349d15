"""One synthesis per test session.

Importing cdktf and the provider packages costs ~15 s of jsii loading; the
synthesis itself costs milliseconds. So the session loads jsii once and
synthesizes every config variant the tests need into a temporary directory.
Tests read the resulting cdk.tf.json files; none synthesizes the app again.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from main import prepare_jsii

if TYPE_CHECKING:
    from tests.postgres_server import Postgres

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"
STACK_NAMES = ("network", "cluster", "bootstrap")

# Test modules import cdktf and providers exactly as the app does: the venv's
# Node 22 for jsii, lazy provider imports.
prepare_jsii()

Json = dict[str, Any]


def example_data() -> Json:
    """The example config as plain data, for tests to mutate."""
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    assert isinstance(data, dict)
    return data


def child_cpu_seconds() -> float:
    """CPU seconds used so far by this process's waited-for children.

    Time limits on a command are checked in CPU time: wall time on a shared
    2-core CI machine measures the neighbours (a 0.6 s rejection took 2.9 s of
    wall time while another test suite ran)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def set_path(data: Json, path: str, value: Any) -> None:
    """Set a config field by its error-message path, e.g. cluster.node_pools[0].min_nodes."""
    parts = path.replace("]", "").replace("[", ".").split(".")
    target: Any = data
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


def bastion_data() -> Json:
    data = copy.deepcopy(example_data())
    data["environment"] = "bastion"
    data["cluster"]["control_plane_access"] = "bastion"
    data["access"]["bastion_members"] = ["group:platform-admins@example.com"]
    data["access"]["argocd_sign_in"] = "google_oidc"
    data["gitops"] = {"repo_url": "https://github.com/example/mlops-gitops.git"}
    data["dns"] = {"managed_zone": "mlops-example-com"}
    data["apps"]["mlflow"] = {"enabled": False}
    data["ingress"] = {"backend_timeout_seconds": 7200, "connection_draining_seconds": 0}
    data["cluster"]["node_pools"].append(
        {
            "name": "gpu",
            "machine_type": "g2-standard-8",
            "max_nodes": 2,
            "spot": True,
            "gpu": {"type": "nvidia-l4", "count": 1},
            "zones": ["europe-west4-a", "europe-west4-c"],
        }
    )
    return data


#: The app that example_plus_app_data adds to the example.
EXTRA_APP = "tools"


def example_plus_app_data() -> Json:
    """The example with one more app: adding it must leave every existing certificate alone."""
    data = example_data()
    data["apps"][EXTRA_APP] = {
        "chart_repo": "https://charts.example.com",
        "chart": "tools",
        "chart_version": "1.0.0",
        "values_file": "mlflow.yaml",  # any existing file: only the certificates matter here
        "service": "tools",
        "service_port": 80,
    }
    return data


#: A team's Helm values file of free text that Terraform would evaluate if it
#: reached cdk.tf.json unescaped (read a file, run a loop), next to text that
#: only looks like syntax. The "hostile" variant's custom app uses it.
HOSTILE_VALUES_FILE = "hostile-team-app.yaml"
HOSTILE_VALUES_TEXT = """\
# Free text: every string must reach the chart exactly as written here.
shell: 'echo ${HOME} and %{ if true }yes%{ endif }'
exfiltrate: '${file("~/.config/gcloud/application_default_credentials.json")}'
loop: '%{ for x in ["a", "b"] }${x}%{ endfor }'
escaped: '$${already-escaped} %%{ also }'
price: 'costs 5$ or 7%'
braces: '{$} {%} ${ } %{ }'
"""


def hostile_data() -> Json:
    """The example with every free-form field at its trickiest accepted value.

    Labels whose keys cdktf would rewrite (managed-by -> managed_by), members
    and emails with '+', '.', '_' and '-', an ssh:// repo URL with a port, a
    revision and path with '/', '.', '+', and a custom app from an oci://
    repository whose values file is HOSTILE_VALUES_TEXT.
    """
    data = copy.deepcopy(example_data())
    data["environment"] = "hostile"
    data["labels"] = {"cost-center": "ml_platform-1", "team__x": "", "z9": "0"}
    data["access"]["iap_members"] = [
        "group:ml.team+ops@example.com",
        "user:o_brien-x@example.co.uk",
        "domain:example.com",
        "serviceAccount:ci-bot@example-mlops-project.iam.gserviceaccount.com",
    ]
    data["access"]["argocd_admins"] = ["first.last+argo@example.com", "x_y-z@sub.example.com"]
    data["gitops"] = {
        "repo_url": "ssh://git@git.example.com:2222/team/gitops.git",
        "revision": "release/2026.01+rc_1",
        "path": "clusters/prod.eu/apps",
        # team-* (the default) would reach the custom app's namespace team-app.
        "applications_namespace": "ml-apps",
        "namespaces": ["ml-*", "sandbox"],
        "cluster_resources": True,
    }
    data["apps"]["team-app"] = {
        "chart_repo": "oci://registry.example.com/charts",
        "chart": "team-app",
        "chart_version": "1.2.3-rc.1",
        "values_file": HOSTILE_VALUES_FILE,
        "host": "team",
        "namespace": "team-app",
        "service": "team-app",
        "service_port": 8080,
    }
    return data


@contextlib.contextmanager
def values_dir_with(files: dict[str, str], directory: Path) -> Iterator[Path]:
    """helm-values/ copied to `directory` plus `files`, seen by the config and the values loader."""
    from platform_config import paths

    for source in paths.HELM_VALUES_DIR.glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    for name, text in files.items():
        (directory / name).write_text(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(paths, "HELM_VALUES_DIR", directory)
        yield directory


#: Config variants synthesized once per session: the example (dns mode, all
#: apps), a variant exercising the other branches (bastion mode, Google OIDC,
#: https GitOps repo, managed DNS zone, GPU pool, MLflow off), the example with
#: one app more (what adding or removing an app changes), and the hostile one
#: (tests/test_config_terraform.py reads it back as Terraform does).
VARIANTS: dict[str, Callable[[], Json]] = {
    "example": example_data,
    "bastion": bastion_data,
    "example-plus-app": example_plus_app_data,
    "hostile": hostile_data,
}


CHECKOV = Path(os.environ.get("CHECKOV_BIN", ROOT / ".tools" / "checkov" / "bin" / "checkov"))


class BackgroundCommand:
    """A command running while the tests run, in its own process group (checkov
    forks); its output goes to files, never a full pipe."""

    def __init__(self, command: list[str], output_dir: Path) -> None:
        self.stdout = output_dir / "stdout"
        self.stderr = output_dir / "stderr"
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, start_new_session=True)

    def output(self, timeout: float) -> tuple[str, str]:
        """Wait for it to end: (stdout, stderr)."""
        self.process.wait(timeout=timeout)
        return self.stdout.read_text(), self.stderr.read_text()

    def returncode(self) -> int:
        """Its exit status, once output() has returned."""
        return self.process.wait()

    def stop(self) -> None:
        """Kill its process group if it still runs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Synthesized:
    """The synthesized stacks of every variant."""

    def __init__(self, root: Path, checkov: BackgroundCommand | None) -> None:
        self.root = root
        #: checkov over `root`, started as soon as the stacks exist so that it
        #: runs on a free core while the other tests run (tests/test_checkov.py).
        self.checkov = checkov

    def stack_file(self, variant: str, stack: str) -> Path:
        return self.root / variant / "stacks" / stack / "cdk.tf.json"

    def stack(self, variant: str, stack: str) -> Json:
        data = json.loads(self.stack_file(variant, stack).read_text())
        assert isinstance(data, dict)
        return data

    def stacks(self, variant: str) -> list[str]:
        return sorted(p.name for p in (self.root / variant / "stacks").iterdir())


def synthesize(data: Json, outdir: Path) -> None:
    from main import build_app
    from platform_config import parse_config

    app = build_app(parse_config(data), outdir=str(outdir))
    app.synth()  # type: ignore[attr-defined]


#: What checkov scans: every variant but example-plus-app, which is the
#: example with one more app of the hostile variant's kind (a quarter less scan).
CHECKOV_VARIANTS = ("example", "bastion", "hostile")


def checkov_command(root: Path) -> list[str]:
    return [
        str(CHECKOV),
        *[arg for variant in CHECKOV_VARIANTS for arg in ("--directory", str(root / variant))],
        "--framework",
        "terraform_json",
        "--skip-download",
        "--config-file",
        str(ROOT / ".checkov.yaml"),
        "--output",
        "json",
        "--compact",
    ]


#: `make unit` runs two pytest sessions side by side, sharing this directory:
#: "stacks" (jsii: the construct tests, and the one synth of every variant,
#: which it makes first, and the tests of the synthesized stacks) and "tools"
#: (the config checker, operator scripts and real services; no jsii).
SHARED_DIR = os.environ.get("PLATFORM_TESTS_SHARED_DIR", "")
SESSION = os.environ.get("PLATFORM_TESTS_SESSION", "")
#: How long the "tools" session waits for the "stacks" session's synth.
SYNTH_WAIT_SECONDS = 600


def pytest_configure(config: pytest.Config) -> None:
    if SESSION and not Path(SHARED_DIR or "/nonexistent").is_dir():
        raise pytest.UsageError(
            "PLATFORM_TESTS_SESSION needs PLATFORM_TESTS_SHARED_DIR, an emptied directory: "
            "run `make unit` or `make test`"
        )
    if SESSION == "stacks":
        # The tools session stops waiting for the synth once this process is gone.
        pid_file = Path(SHARED_DIR) / "stacks.pid"
        pid_file.with_suffix(".tmp").write_text(str(os.getpid()))
        pid_file.with_suffix(".tmp").replace(pid_file)


def pytest_collection_finish(session: pytest.Session) -> None:
    if SESSION == "tools" and _jsii_loaded():
        raise pytest.UsageError(
            "a test file of the tools session imports jsii (constructs, cdktf or a provider) "
            "at module level: list it in the Makefile's STACK_TESTS"
        )


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def _wait_for_synth(done: Path, failed: Path) -> None:
    pid_file = done.parent / "stacks.pid"
    deadline = time.monotonic() + SYNTH_WAIT_SECONDS
    while not done.exists():
        if failed.exists():
            pytest.fail(f"the stacks test session's synth failed:\n{failed.read_text()[-3000:]}")
        if pid_file.exists() and not _alive(pid_file) and not done.exists():
            pytest.fail("the stacks test session ended without synthesizing (see its output)")
        if time.monotonic() > deadline:
            pytest.fail(f"no synth from the stacks test session after {SYNTH_WAIT_SECONDS} s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """Every variant, synthesized once per `make test`, however many sessions read it.

    Alone, a session synthesizes in its temp dir. Under `make unit` the
    "stacks" session synthesizes into the shared directory (emptied by
    unit-prepare) and starts checkov; the "tools" session waits for the synth
    and never loads jsii itself (one ~1 GB jsii kernel at a time).
    """
    shared = Path(SHARED_DIR) if SHARED_DIR else tmp_path_factory.getbasetemp()
    root, done, failed = shared / "synth", shared / "synth.done", shared / "synth.failed"
    if SESSION == "tools":
        _wait_for_synth(done, failed)
        yield Synthesized(root, checkov=None)  # test_checkov runs in the stacks session
        return
    root.mkdir()
    values_dir = tmp_path_factory.mktemp("helm-values")
    try:
        with values_dir_with({HOSTILE_VALUES_FILE: HOSTILE_VALUES_TEXT}, values_dir):
            for name, make_data in VARIANTS.items():
                synthesize(make_data(), root / name)
    except BaseException as error:
        failed.write_text(f"{type(error).__name__}: {error}")
        raise
    checkov = None
    if CHECKOV.exists():
        checkov = BackgroundCommand(checkov_command(root), tmp_path_factory.mktemp("checkov"))
    done.touch()
    yield Synthesized(root, checkov)
    if checkov is not None:
        # test_checkov runs last and has waited for it; if it did not run
        # (deselected, interrupted), checkov is no use any more.
        checkov.stop()


@pytest.fixture(scope="session", autouse=SESSION == "stacks")
def synthesized_first(synthesized: Synthesized) -> None:
    """In the stacks session: synthesize before anything else; the tools session waits for it."""


def _jsii_loaded() -> bool:
    return "constructs" in sys.modules or "cdktf" in sys.modules


@pytest.fixture(autouse=SESSION == "tools")
def no_jsii_in_the_tools_session(request: pytest.FixtureRequest) -> Iterator[None]:
    """The tools session runs beside the stacks one: a second ~1 GB jsii kernel is a bug."""
    before = _jsii_loaded()
    yield
    if not before and _jsii_loaded():
        pytest.fail(
            f"{request.node.nodeid} loads jsii: list its file in the Makefile's STACK_TESTS"
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """One Cloud SQL-like PostgreSQL for the session; each module adds its own database."""
    from tests.postgres_server import cloud_sql_like_postgres

    with cloud_sql_like_postgres() as server:
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files that need no synth first (the other session may still be making
    it), the checkov test last (it waits for the background scan). Whole files
    move, so module fixtures (servers) still start once."""
    reads_synth = {
        item.path for item in items if "synthesized" in getattr(item, "fixturenames", ())
    }
    items.sort(key=lambda item: (item.path.name == "test_checkov.py", item.path in reads_synth))


def resources(stack: Json, kind: str) -> dict[str, Json]:
    """All resources of one Terraform type in a synthesized stack, by name."""
    found = stack.get("resource", {}).get(kind, {})
    assert isinstance(found, dict)
    return found


def only(stack: Json, kind: str) -> Json:
    """The single resource of a type; fails if there are none or several."""
    found = resources(stack, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.values()))


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    """syrupy snapshot stored as reviewable JSON (tests/__snapshots__/)."""
    from syrupy.extensions.json import JSONSnapshotExtension

    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.fixture
def team_values_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """helm-values/ plus a team copy of each built-in's file, changed in one key.

    team-jupyterhub.yaml sets singleuser.defaultUrl to /tree and team-mlflow.yaml
    resources.limits.memory to 8Gi, so a test can tell which file was read.
    Both the config (file exists?) and the values loader see this directory.
    """
    from platform_builders import helm_values
    from platform_config import paths

    for source in paths.HELM_VALUES_DIR.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    jupyterhub = helm_values.load_values("jupyterhub.yaml")
    jupyterhub["singleuser"]["defaultUrl"] = "/tree"
    (tmp_path / "team-jupyterhub.yaml").write_text(yaml.safe_dump(jupyterhub))
    mlflow = helm_values.load_values("mlflow.yaml")
    mlflow["resources"]["limits"]["memory"] = "8Gi"
    (tmp_path / "team-mlflow.yaml").write_text(yaml.safe_dump(mlflow))
    monkeypatch.setattr(paths, "HELM_VALUES_DIR", tmp_path)
    return tmp_path
