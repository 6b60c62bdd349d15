"""One synthesis per test session.

Importing cdktf and the provider packages costs ~15 s of jsii loading; the
synthesis itself costs milliseconds. So the session loads jsii once and
synthesizes every config variant the tests need into a temporary directory.
Tests read the resulting cdk.tf.json files; none synthesizes the app again.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from main import prepare_jsii
from tests.support.postgres_server import cloud_sql_like_postgres
from tests.support.synth import (
    CHECKOV,
    Checkov,
    Synthesized,
    synthesize_in_product_tree,
)
from tests.support.variants import (
    HOSTILE_VALUES_FILE,
    HOSTILE_VALUES_TEXT,
    VARIANTS,
)

if TYPE_CHECKING:
    from tests.support.postgres_server import Postgres


# Test modules import cdktf and providers exactly as the app does: the venv's
# Node 22 for jsii, lazy provider imports.
prepare_jsii()


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
        # Before collection, so before this process loads jsii itself.
        _make_synth(Path(SHARED_DIR))


def _make_synth(shared: Path) -> None:
    """Every variant, from the product tree; synth.failed says why not."""
    root = shared / "synth"
    root.mkdir()
    (shared / "product").mkdir()
    try:
        synthesize_in_product_tree(
            {name: make_data() for name, make_data in VARIANTS.items()},
            {HOSTILE_VALUES_FILE: HOSTILE_VALUES_TEXT},
            root=root,
            tree=shared / "product" / "repo",
        )
    except Exception as error:  # reported by the synthesized fixture, in both sessions
        (shared / "synth.failed").write_text(f"{type(error).__name__}: {error}")
        return
    (shared / "synth.done").touch()


def pytest_collection_finish(session: pytest.Session) -> None:
    if SESSION == "tools" and _jsii_loaded():
        raise pytest.UsageError(
            "a test file of the tools session imports jsii (constructs, cdktf or a provider) "
            "at module level: move it under tests/stacks/ (or tests/constructs/)"
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

    From the product tree (tests/support/synth.py), in a process of its own.
    Alone, a session synthesizes in its temp dir. Under `make unit` the
    "stacks" session synthesizes into the shared directory (emptied by
    unit-prepare) before collecting its tests, then starts checkov; the
    "tools" session waits for the synth and never loads jsii itself (one
    ~1 GB jsii kernel at a time).
    """
    shared = Path(SHARED_DIR) if SHARED_DIR else tmp_path_factory.getbasetemp()
    root, done, failed = shared / "synth", shared / "synth.done", shared / "synth.failed"
    if SESSION == "tools":
        _wait_for_synth(done, failed)
        yield Synthesized(root, checkov=None)  # test_checkov runs in the stacks session
        return
    if SESSION != "stacks":  # a plain pytest run: synthesize when first needed
        _make_synth(shared)
    if failed.exists():
        pytest.fail(f"the session's synth failed:\n{failed.read_text()[-3000:]}")
    checkov = None
    if CHECKOV.exists():
        checkov = Checkov(root, tmp_path_factory.mktemp("checkov"))
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
            f"{request.node.nodeid} loads jsii: move its file under tests/stacks/ "
            "(or tests/constructs/)"
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """One Cloud SQL-like PostgreSQL for the session; each module adds its own database."""

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


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    """syrupy snapshot stored as reviewable JSON (tests/<area>/__snapshots__/)."""
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
