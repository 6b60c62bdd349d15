"""Property: no config file makes the checker misbehave, and accepted ones stay data.

Hypothesis mutates the example config: types, deletions, extra keys, nesting,
unicode, template syntax, quotes, commas and newlines in values (data-level),
then anchors and aliases, duplicate keys, huge numbers and invalid bytes
(text-level). For each file, `python -m platform_config`'s main():

- returns 0 or 2, never raises;
- on 2, prints a bounded report with no traceback;
- takes under 2 s;
- on 0, the config holds no template syntax and no non-printable character.

A second property draws valid values for the free-form fields (and the names
of a custom app, its host, namespace and service, and of node pools) from the
config's own patterns and synthesizes a few such configs inside this session's
jsii load: whatever check-config accepts synthesizes, nothing from it becomes
live Terraform syntax, and each value comes out verbatim.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from platform_config import ConfigError, PlatformConfig, load_config, parse_config
from platform_config.__main__ import main as check_config
from platform_config.types import PATTERN_HELP
from tests.support.synth import synthesize
from tests.support.terraform import live_syntax_problems, terraform_view
from tests.support.variants import STACK_NAMES, Json, example_data

MAX_REPORT_CHARS = 20_000

#: Characters that mean something in some sink (Terraform, YAML, CSV, shells,
#: Python), plus look-alikes, zero-width and control characters.
NASTY = [
    "${",
    "%{",
    "$${",
    "}",
    '"',
    "'",
    ",",
    "\n",
    "\r",
    "\x00",
    "\u200b",
    "\u0430",
    "#",
    ": ",
    "&a",
    "*a",
    "!!binary",
    "\\",
    "`",
    "$(",
    ";",
    "|",
    "{{",
    "\ud7ff",
    "é",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.lists(st.sampled_from(NASTY), min_size=1, max_size=4).map("".join),
    st.builds(
        lambda a, b, c: a + b + c, st.text(max_size=8), st.sampled_from(NASTY), st.text(max_size=8)
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(data: Json, draw: Any) -> Json:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "extra", "nest", "nasty"]))
        if action == "replace":
            parent[last] = draw(values)
        elif action == "delete":
            del parent[last]
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(values)
        elif action == "nest":
            parent[last] = draw(st.sampled_from([[parent[last]], {"x": parent[last]}]))
        elif isinstance(parent[last], str):
            position = draw(st.integers(min_value=0, max_value=len(parent[last])))
            piece = draw(st.sampled_from(NASTY))
            parent[last] = parent[last][:position] + piece + parent[last][position:]
    return data


def _text_mutation(text: str, draw: Any) -> bytes:
    action = draw(
        st.sampled_from(
            ["none", "duplicate", "alias", "laughs", "huge", "bytes", "date", "deep", "wide"]
        )
    )
    if action == "duplicate":
        line = draw(st.sampled_from([line for line in text.splitlines() if ":" in line]))
        text += line + "\n"
    elif action == "alias":
        text = text.replace("revision: main", "revision: &r main\nrev2: *r", 1)
    elif action == "laughs":
        text += "x: &a [1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nz: [*b,*b,*b,*b,*b,*b]\n"
    elif action == "huge":
        text = text.replace("min_nodes: 1", "min_nodes: " + "9" * draw(st.integers(19, 20_000)))
    elif action == "date":
        text = text.replace("revision: main", "revision: 2026-02-30")
    elif action == "deep":
        depth = draw(st.integers(min_value=30, max_value=3000))
        text += "deep: " + "[" * depth + "]" * depth + "\n"
    elif action == "wide":
        text += "wide: [" + ",".join(["1"] * draw(st.integers(1, 200_000))) + "]\n"
    raw = text.encode("utf-8", errors="surrogatepass")
    if action == "bytes":
        position = draw(st.integers(min_value=0, max_value=len(raw)))
        raw = raw[:position] + draw(st.binary(min_size=1, max_size=8)) + raw[position:]
    return raw


def _run_checker(path: Path) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.process_time()  # CPU time: robust to a busy CI machine
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = check_config([str(path)])
    return code, out.getvalue(), err.getvalue(), time.process_time() - started


def _all_strings(config: PlatformConfig) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config.model_dump(mode="json"))
    return found


# 80 examples, ~35 ms each: every run explores new files (no example database).
@settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_no_file_makes_the_checker_misbehave(data: st.DataObject) -> None:
    mutated = _mutate(example_data(), data.draw)
    text = yaml.safe_dump(mutated, allow_unicode=data.draw(st.booleans()), sort_keys=False)
    raw = _text_mutation(text, data.draw)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "config.yaml"
        path.write_bytes(raw)
        code, stdout, stderr, elapsed = _run_checker(path)
        assert elapsed < 2.0, f"{elapsed:.2f} s"
        assert code in (0, 2), (code, stderr)
        if code == 2:
            assert stderr.startswith("error: invalid platform config "), stderr[:300]
            assert "Traceback" not in stderr
            assert len(stderr) < MAX_REPORT_CHARS
            assert stdout == ""
        else:
            config = load_config(path)
            for value in _all_strings(config):
                assert "${" not in value and "%{" not in value, value
                assert value.isascii() and value.isprintable(), repr(value)


def _pattern(words: str) -> str:
    return next(pattern for pattern, help_ in PATTERN_HELP.items() if words in help_)


def _from(words: str) -> st.SearchStrategy[str]:
    return st.from_regex(_pattern(words), fullmatch=True)


emails = _from("one lowercase email").filter(lambda e: len(e) <= 60)
members = _from("an IAM member").filter(lambda m: len(m) <= 60)
revisions = _from("a branch, tag or commit").filter(lambda r: len(r) <= 40)
paths = _from("a relative directory").filter(lambda p: len(p) <= 40)
label_keys = _from("a label key").filter(lambda k: len(k) <= 20)
label_values = _from("a label value").filter(lambda v: len(v) <= 20)
dns_labels = _from("a lowercase DNS label of at most 40").filter(lambda v: len(v) <= 20)


@st.composite
def accepted_configs(draw: st.DrawFn) -> Json:
    data = example_data()
    data["environment"] = "prop"
    data["labels"] = draw(st.dictionaries(label_keys, label_values, max_size=3))
    data["access"]["iap_members"] = draw(st.lists(members, min_size=1, max_size=3, unique=True))
    # IAP admits only the organization's accounts: its domains are the members'.
    data["access"]["organization_domains"] = sorted(
        {
            member.partition(":")[2].rpartition("@")[2]
            for member in data["access"]["iap_members"]
            if not member.startswith("serviceAccount:")
        }
    )
    data["access"]["argocd_admins"] = draw(st.lists(emails, max_size=3, unique=True))
    data["apps"]["jupyterhub"]["admin_users"] = draw(st.lists(emails, max_size=2, unique=True))
    data["gitops"]["revision"] = draw(revisions)
    data["gitops"]["path"] = draw(paths)
    pool_names = draw(st.lists(dns_labels, min_size=1, max_size=2, unique=True))
    data["cluster"]["node_pools"] = [{"name": name} for name in pool_names]
    app, host, namespace, service = (draw(dns_labels) for _ in range(4))
    data["apps"][app] = {
        "chart_repo": "https://charts.example.com/stable",
        "chart": app,
        "chart_version": "1.0.0",
        "values_file": "mlflow.yaml",
        "host": host,
        "namespace": namespace,
        "service": service,
        "service_port": draw(st.integers(min_value=1, max_value=65535)),
    }
    return data


# Each example is a whole synth (~1 s); the session's fixed variants cover the rest.
@settings(max_examples=2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(accepted_configs())
def test_accepted_configs_synthesize_as_data(data: Json) -> None:
    try:
        parse_config(data)
    except ConfigError:
        # A cross-field rule: colliding member slugs, a reserved label key, app
        # name, host or namespace, two apps on one host or namespace.
        assume(False)
    expected = [
        *data["labels"],
        *data["labels"].values(),
        *data["access"]["iap_members"],
        *data["access"]["argocd_admins"],
        *data["apps"]["jupyterhub"]["admin_users"],
        data["gitops"]["revision"],
        data["gitops"]["path"],
    ]
    seen: set[str] = set()
    with tempfile.TemporaryDirectory() as directory:
        synthesize(data, Path(directory))
        for stack_name in STACK_NAMES:
            stack_file = Path(directory) / "stacks" / stack_name / "cdk.tf.json"
            stack = json.loads(stack_file.read_text())
            assert live_syntax_problems(stack) == []
            seen |= set(terraform_view(stack))
    missing = [value for value in expected if value and value not in seen]
    assert not missing, missing
