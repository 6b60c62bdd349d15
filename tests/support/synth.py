"""The session's one synthesis of every variant and checkov in the background."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

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

    def __init__(self, root: Path, checkov: BackgroundCommand | None) -> None:
        self.root = root
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
