"""What Terraform reads in a stack: live template syntax and every string it evaluates."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import yaml

from platform_builders.terraform_literal import (
    terraform_literal_value,
)
from tests.support.variants import Json

#: A live template in the output must be exactly one reference: an address
#: (resource type + name, data.<type>.<name>, terraform.workspace) and
#: attribute names or indexes, optionally inside one of the functions the code
#: itself applies (CODE_FUNCTIONS); no other call, operator or literal.
CODE_FUNCTIONS = ("base64decode",)


_ADDRESS = (
    r"(?P<root>data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|terraform\.workspace|[a-z0-9_]+\.[A-Za-z0-9_-]+)"
    r"(?:\.[A-Za-z0-9_-]+|\[[0-9]+\])*"
)


_CALL = rf"(?:{'|'.join(CODE_FUNCTIONS)})\({_ADDRESS.replace('root', 'fnroot')}\)"


REFERENCE = re.compile(rf"\$\{{(?:{_ADDRESS}|{_CALL})\}}")
#: The one expression IapIngress writes (the backend's NEG zones: node locations
#: of the pools with nodes) and its dynamic block's iterator.
ZONES = re.compile(r"\$\{toset\(sort\(distinct\(flatten\(\[(?P<inner>[^\]]*)\]\)\)\)\)\}")
ZONE_LIST = re.compile(rf"tolist\(tolist\({_ADDRESS}\)\)")
ITERATOR = "${each.value}"


def _strings(node: Any) -> Iterator[str]:
    """Every string of a JSON document, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _declared(stack: Json) -> set[str]:
    """Addresses a reference may name in this stack."""
    names = {"terraform.workspace"}
    for kind, by_name in stack.get("resource", {}).items():
        names |= {f"{kind}.{name}" for name in by_name}
    for kind, by_name in stack.get("data", {}).items():
        names |= {f"data.{kind}.{name}" for name in by_name}
    return names


def live_syntax_problems(stack: Json) -> list[str]:
    """Every live template in a stack that is not a reference cdktf wrote."""
    declared = _declared(stack)
    problems = []
    for text in _strings(stack):
        for opener in terraform_literal_value(text)[1]:
            zones = ZONES.fullmatch(opener)
            if opener == ITERATOR or (
                zones is not None
                and all(ZONE_LIST.fullmatch(part) for part in zones.group("inner").split(", "))
            ):
                continue
            match = REFERENCE.fullmatch(opener)
            if match is None:
                problems.append(f"live template syntax {opener!r}")
                continue
            root = match.group("root") or match.group("fnroot")
            if not any(name.startswith(root) for name in declared):
                problems.append(f"{opener!r} names nothing in the stack")
    return problems


def terraform_view(node: Any) -> Iterator[str]:
    """Every string Terraform reads in a stack, and inside it what the receivers read.

    Helm values strings are YAML (read as the chart gets them), YAML values can
    hold YAML again (Dex config) and Argo CD's policy.csv is CSV.
    """
    for raw in _strings(node):
        text, _ = terraform_literal_value(raw)
        yield text
        yield from _inner_view(text, depth=0)


def _inner_view(text: str, depth: int) -> Iterator[str]:
    if depth > 3 or ("\n" not in text and ": " not in text):
        return
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return
    if not isinstance(data, dict | list):
        return
    for inner in _strings(data):
        yield inner
        if inner.startswith(("g,", "p,")):
            for line in inner.splitlines():
                yield from next(csv.reader(io.StringIO(line), skipinitialspace=True), [])
        yield from _inner_view(inner, depth + 1)
