"""The session's one synthesis of every variant and checkov in the background.

The session synthesizes from the product tree: a copy of the repository's
files without tests/ and charts/reference/, in a process of its own, exactly
as `make synth` runs main.py. So every test of the synthesized stacks also
proves that synthesis never reads the tests or the values checks' reference
data, and only one ~1 GB jsii kernel runs at a time (this one exits before the
stacks session loads its own for the construct tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.variants import ROOT, Json

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

    def __init__(self, root: Path, checkov: Checkov | None) -> None:
        self.root = root
        #: The copy of the repository the stacks were synthesized from.
        self.product_tree = root.parent / "product" / "repo"
        #: checkov over `root`, started as soon as the stacks exist so that it
        #: runs on a free core while the other tests run (tests/stacks/test_checkov.py).
        self.checkov = checkov

    def stack_file(self, variant: str, stack: str) -> Path:
        return self.root / variant / "stacks" / stack / "cdk.tf.json"

    def stack(self, variant: str, stack: str) -> Json:
        data = json.loads(self.stack_file(variant, stack).read_text())
        assert isinstance(data, dict)
        return data

    def stacks(self, variant: str) -> list[str]:
        return sorted(p.name for p in (self.root / variant / "stacks").iterdir())


#: Left out of the product tree: synthesis reads neither.
LEFT_OUT = (Path("tests"), Path("charts/reference"))

#: Runs in the product tree: every variant's config (JSON) -> its cdktf.out.
DRIVER = """
import json, sys
from main import build_app
from platform_config import parse_config
for spec in json.load(open(sys.argv[1])):
    build_app(parse_config(spec["data"]), outdir=spec["outdir"]).synth()
"""


def product_files() -> list[Path]:
    """The repository's files (tracked, or new and not ignored) outside LEFT_OUT."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    paths = [Path(p) for p in listed.split("\0") if p]
    return [
        p
        for p in paths
        if not any(p.is_relative_to(left_out) for left_out in LEFT_OUT) and (ROOT / p).is_file()
    ]


def synthesize_in_product_tree(
    variants: dict[str, Json], extra_values: dict[str, str], *, root: Path, tree: Path
) -> None:
    """Copy the product tree to `tree` (plus `extra_values` in its helm-values/),
    then synthesize each variant into root/<variant> in one process there."""
    for relative in product_files():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, tree / relative)
    for name, text in extra_values.items():
        (tree / "helm-values" / name).write_text(text)
    specs = tree.parent / "variants.json"
    specs.write_text(
        json.dumps([{"data": data, "outdir": str(root / name)} for name, data in variants.items()])
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PLATFORM_CONFIG", "PYTHONPATH")}
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, str(specs)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"synthesis in the product tree failed (exit {result.returncode}):\n"
            f"{result.stderr[-4000:]}"
        )


def synthesize(data: Json, outdir: Path) -> None:
    """Synthesize in this process (for tests that build their own config)."""
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


#: checkov's verdicts by input (see Checkov): a warm `make test` on unchanged
#: stacks replays the verdict instead of scanning again (~4 s of CPU).
CHECKOV_RESULTS = ROOT / ".tools" / "checkov-results"


def checkov_input_key(root: Path) -> str:
    """sha256 of everything checkov's verdict depends on: its pinned version,
    the project's checkov config, the arguments and every scanned file."""
    digest = hashlib.sha256()
    for fixed in (ROOT / "tools" / "checkov-requirements.txt", ROOT / ".checkov.yaml"):
        digest.update(fixed.read_bytes())
    digest.update(json.dumps(checkov_command(Path("<root>"))[1:]).encode())
    for variant in CHECKOV_VARIANTS:
        for path in sorted(p for p in (root / variant).rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class Checkov:
    """checkov over the synthesized stacks, in the background, or its verdict on
    exactly the same input replayed from CHECKOV_RESULTS.

    checkov is deterministic for a given version, config and input, so a
    replayed verdict is the verdict; a changed stack, config or version is a
    new key and a new scan. Only completed scans (exit 0 or 1) are stored.
    """

    def __init__(self, root: Path, output_dir: Path) -> None:
        self.key = checkov_input_key(root)
        self.stored = CHECKOV_RESULTS / f"{self.key}.json"
        self.replayed: dict[str, Any] | None = None
        self.running: BackgroundCommand | None = None
        if self.stored.is_file():
            self.replayed = json.loads(self.stored.read_text())
        else:
            self.running = BackgroundCommand(checkov_command(root), output_dir)

    def output(self, timeout: float) -> tuple[str, str]:
        if self.replayed is not None:
            return str(self.replayed["stdout"]), str(self.replayed["stderr"])
        assert self.running is not None
        stdout, stderr = self.running.output(timeout)
        code = self.running.returncode()
        if code in (0, 1):
            CHECKOV_RESULTS.mkdir(parents=True, exist_ok=True)
            partial = self.stored.with_suffix(".tmp")
            partial.write_text(json.dumps({"stdout": stdout, "stderr": stderr, "returncode": code}))
            partial.replace(self.stored)
        return stdout, stderr

    def returncode(self) -> int:
        if self.replayed is not None:
            return int(self.replayed["returncode"])
        assert self.running is not None
        return self.running.returncode()

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
