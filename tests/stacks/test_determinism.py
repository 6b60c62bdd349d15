"""Synthesis is deterministic: the same config gives byte-identical stacks.

The snapshots already compare against a synthesis made by another process on
another day; this checks a second synthesis in this session, byte for byte
(ordering of sets and dicts, hashes, asset paths).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.synth import Synthesized, synthesize
from tests.support.variants import example_data


def test_two_synths_are_byte_identical(synthesized: Synthesized, tmp_path: Path) -> None:
    synthesize(example_data(), tmp_path)
    for stack in synthesized.stacks("example"):
        first = synthesized.stack_file("example", stack).read_bytes()
        second = (tmp_path / "stacks" / stack / "cdk.tf.json").read_bytes()
        assert first == second, f"{stack} differs between two synths"
