"""Prove a refactor behaviour-preserving: synthesize every test variant, then compare.

    .venv/bin/python tools/synth_compare.py write /tmp/before   # on the old commit
    .venv/bin/python tools/synth_compare.py write /tmp/after    # on the new one
    .venv/bin/python tools/synth_compare.py diff /tmp/before /tmp/after

`write` synthesizes the test session's config variants (tests/support/variants.py
VARIANTS) plus a few that switch the built-in apps off one by one, so every
branch of the service code is covered. `diff` compares each cdk.tf.json as
parsed JSON: the same Terraform addresses with the same values. Key order may
differ (cdktf writes resources in construct-tree order); list order and every
string, including the Helm values YAML embedded in each helm_release, must not.
Exit status 0 when everything is equal, 1 otherwise, listing each difference.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Json = dict[str, Any]


def _variants() -> dict[str, Callable[[], Json]]:
    from tests.support.variants import VARIANTS, example_data

    def apps_off(*names: str) -> Callable[[], Json]:
        def make() -> Json:
            data = copy.deepcopy(example_data())
            for name in names:
                data["apps"][name]["enabled"] = False
            return data

        return make

    return {
        **VARIANTS,
        "no-jupyterhub": apps_off("jupyterhub"),
        "no-mlflow": apps_off("mlflow"),
        "no-apps": apps_off("jupyterhub", "mlflow"),
    }


def write(outdir: Path) -> None:
    from main import build_app
    from platform_config import parse_config
    from tests.support.variants import HOSTILE_VALUES_FILE, HOSTILE_VALUES_TEXT, values_dir_with

    outdir.mkdir(parents=True, exist_ok=False)
    values_dir = outdir / ".helm-values"
    values_dir.mkdir()
    with values_dir_with({HOSTILE_VALUES_FILE: HOSTILE_VALUES_TEXT}, values_dir):
        for name, make_data in _variants().items():
            app = build_app(parse_config(make_data()), outdir=str(outdir / name))
            app.synth()  # type: ignore[attr-defined]
            print(f"synthesized {name}")


def _differences(before: Any, after: Any, path: str) -> Iterator[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            where = f"{path}.{key}"
            if key not in after:
                yield f"{where}: removed"
            elif key not in before:
                yield f"{where}: added"
            else:
                yield from _differences(before[key], after[key], where)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _differences(old, new, f"{path}[{index}]")
    elif before != after:
        yield f"{path}: {json.dumps(before)[:300]} -> {json.dumps(after)[:300]}"


def diff(before: Path, after: Path) -> int:
    old = {p.relative_to(before) for p in before.glob("*/stacks/*/cdk.tf.json")}
    new = {p.relative_to(after) for p in after.glob("*/stacks/*/cdk.tf.json")}
    problems = [f"{p}: only in {before}" for p in sorted(old - new)]
    problems += [f"{p}: only in {after}" for p in sorted(new - old)]
    for relative in sorted(old & new):
        a = json.loads((before / relative).read_text())
        b = json.loads((after / relative).read_text())
        problems += [f"{relative}: {line}" for line in _differences(a, b, "")]
    for line in problems[:200]:
        print(line)
    print(f"{len(old & new)} stack files compared, {len(problems)} differences")
    return 1 if problems or not old else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "write":
        write(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "diff":
        return diff(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
