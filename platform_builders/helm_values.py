"""Static Helm values (helm-values/) and checks against the pinned charts.

Pure Python on purpose (no cdktf import): the values are data, and the checks
run in milliseconds, so tests and constructs can use them without jsii.

`chart_values_problems` is the cdk-nag of chart values: a typo in a values
file (``proxy.servce.type``) makes Helm silently ignore the setting, so every
key path is checked against the chart's own defaults, and the values are
validated against the chart's JSON schema where the chart ships one. The
reference copies of each chart's values.yaml / values.schema.json live in
charts/reference/<chart>/ (see the README there for their provenance). Only
the checks read them, never at import: synthesis works without them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from platform_builders.terraform_literal import CDKTF_TOKEN_MARKER, escape_template
from platform_config import paths
from platform_config.paths import REPO_ROOT

#: libyaml's safe loader when PyYAML has it (its wheels do): same data, several
#: times faster than the pure-Python one.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Upstream defaults (and schema, where the chart has one) of every pinned chart.
CHART_REFERENCE_DIR = REPO_ROOT / "charts" / "reference"

#: In each directory of CHART_REFERENCE_DIR: which chart (repository, name,
#: version) its values.yaml / values.schema.json describe.
REFERENCE_FILE = "reference.yaml"


def reference_directories() -> tuple[str, ...]:
    """The charts with reference data: every directory of CHART_REFERENCE_DIR
    (none when it is missing: every values file is then reported unchecked).

    Data, not a list in code: vendoring a chart's files there is all it takes
    for values files of that chart to be checked. Listed on each call, never at
    import (one directory read): a chart vendored meanwhile is seen.
    """
    if not CHART_REFERENCE_DIR.is_dir():
        return ()
    return tuple(sorted(p.name for p in CHART_REFERENCE_DIR.iterdir() if p.is_dir()))


def reference_identity(directory: str) -> tuple[str, str, str]:
    """(repository, chart, version) from the directory's reference.yaml."""
    return _reference_identity(CHART_REFERENCE_DIR / directory / REFERENCE_FILE)


#: Istio's charts keep their defaults under this key and read user values from
#: the top level; setting the key itself is a mistake (FACTS 5).
ISTIO_INTERNAL_DEFAULTS = "_internal_defaults_do_not_set"

KeyPath = tuple[str, ...]

#: Keys whose value charts copy verbatim into a Kubernetes object (toYaml):
#: label/annotation/selector maps take any key, and Kubernetes itself, not the
#: chart, defines the fields of resources and security contexts. The chart's
#: default only shows some entries (e.g. istiod: resources.requests only).
FREE_FORM_KEY_NAMES = frozenset(
    {
        "annotations",
        "labels",
        "podAnnotations",
        "podLabels",
        "commonLabels",
        "extraLabels",
        "extraAnnotations",
        "selectorLabels",
        "nodeSelector",
        "resources",
        "securityContext",
        "podSecurityContext",
        "containerSecurityContext",
    }
)

#: Keys whose default is a non-empty map but which pass arbitrary keys through
#: to the application. A default of {} or a list is free-form without being
#: listed here; everything else must exist in the chart's defaults.
FREE_FORM_PATHS: dict[str, frozenset[KeyPath]] = {
    "istiod": frozenset(
        {
            # MeshConfig: any field of istio.mesh.v1alpha1.MeshConfig; the
            # default only shows enablePrometheusMerge.
            ("meshConfig",),
        }
    ),
    "argo-cd": frozenset(
        {
            # Every key under configs.cm goes into argocd-cm (dex.config, url,
            # admin.enabled, ...); the default lists only some of them.
            ("configs", "cm"),
            # Every key goes into argocd-cmd-params-cm (server.insecure, ...).
            ("configs", "params"),
            # Every key goes into argocd-rbac-cm (policy.csv, scopes, ...).
            ("configs", "rbac"),
        }
    ),
    "jupyterhub": frozenset(
        {
            # Pass-through traitlets config: <Class>.<trait> for any class
            # (Authenticator, KubeSpawner, ...); the default shows JupyterHub only.
            ("hub", "config"),
        }
    ),
}


def load_values(file_name: str) -> dict[str, Any]:
    """Parse helm-values/<file_name>; the file must hold a mapping (or nothing).

    The directory is platform_config.paths.HELM_VALUES_DIR, read at each call:
    the config's values-file check reads the same one.
    """
    path = paths.HELM_VALUES_DIR / file_name
    text = path.read_text(encoding="utf-8")
    if CDKTF_TOKEN_MARKER in text:
        # Only code may reference Terraform values; a file could forge one.
        raise ValueError(f"{path}: contains the cdktf token marker {CDKTF_TOKEN_MARKER!r}")
    data = yaml.load(text, Loader=SAFE_LOADER)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: Helm values must be a mapping, got {type(data).__name__}")
    return data


class _ValuesDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Safe YAML; multi-line strings as literal blocks (readable in a plan diff).

    libyaml's dumper when PyYAML has it: with literal blocks its output is
    byte-identical to the pure-Python dumper's (folded quoted strings are not).
    """


def _literal_if_multiline(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", data, style="|" if "\n" in data else None
    )


_ValuesDumper.add_representer(str, _literal_if_multiline)
# An object used twice (one env list for several containers) is written out
# twice, never as a YAML anchor and alias: a plan diff reads as the data it is.
_ValuesDumper.ignore_aliases = lambda self, data: True


def to_values_yaml(values: Mapping[str, Any]) -> str:
    """The `values` string of a helm_release: YAML from the emitter, Terraform-escaped.

    Stable (sorted keys) so the synthesized JSON is deterministic. Every
    literal ``${`` / ``%{`` (free text from helm-values/ files) is escaped so
    Terraform reads it as text; cdktf tokens (cross-stack references merged
    in by code) stay live (platform_builders/terraform_literal.py).
    """
    text = str(
        yaml.dump(
            dict(values), Dumper=_ValuesDumper, sort_keys=True, default_flow_style=False, width=120
        )
    )
    return escape_template(text)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Maps merge recursively; any other value in `override` replaces the base one.

    Neither input is mutated, and the result shares no mutable state with them.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def chart_values_problems(chart: str, values: Mapping[str, Any]) -> list[str]:
    """Every reason Helm would reject, or silently ignore, `values` for `chart`.

    Two checks, both against charts/reference/<chart>/:
    - every key path in `values` exists in the chart's defaults, except below
      free-form keys (default {} or a list, a label/annotation-like key, or a
      path in FREE_FORM_PATHS); a non-map value where the default is a map
      is reported too (Helm only warns, and the templates then break);
    - the chart's values.schema.json, when it has one, accepts the values as
      Helm validates them: merged over the chart defaults.

    Returns human-readable lines such as
    ``jupyterhub: singleuser.storag: not a key of the chart``.
    """
    directory = CHART_REFERENCE_DIR / chart
    if not (directory / "values.yaml").is_file():
        known = ", ".join(reference_directories())
        raise ValueError(f"unknown chart {chart!r}; known charts: {known}")
    defaults = _chart_defaults(directory / "values.yaml")
    problems = [f"{chart}: {line}" for line in _key_problems(chart, values, defaults)]
    schema = _chart_schema(directory / "values.schema.json")
    if schema is not None:
        merged = _helm_coalesce(defaults, values)
        problems.extend(f"{chart}: {line}" for line in _schema_problems(schema, merged))
    return problems


# --- key paths ---------------------------------------------------------------


def _key_problems(
    chart: str, values: Mapping[str, Any], raw_defaults: Mapping[str, Any]
) -> list[str]:
    problems: list[str] = []
    defaults: Mapping[str, Any] = raw_defaults
    if ISTIO_INTERNAL_DEFAULTS in raw_defaults:
        if ISTIO_INTERNAL_DEFAULTS in values:
            problems.append(
                f"{ISTIO_INTERNAL_DEFAULTS}: set the keys at the top level, not under this key"
            )
        defaults = _istio_user_defaults(raw_defaults)
    free_paths = FREE_FORM_PATHS.get(chart, frozenset())
    for path, value, default, known in _walk(values, defaults, free_paths, ()):
        if not known:
            problems.append(f"{_dotted(path)}: not a key of the chart")
        elif (
            isinstance(default, Mapping)
            and default
            and value is not None
            and not isinstance(value, Mapping)
        ):
            problems.append(
                f"{_dotted(path)}: expected a map like the chart's default, "
                f"got {type(value).__name__}"
            )
    return problems


def _walk(
    values: Mapping[str, Any],
    defaults: Mapping[str, Any],
    free_paths: frozenset[KeyPath],
    prefix: KeyPath,
) -> Iterator[tuple[KeyPath, Any, Any, bool]]:
    """Yield (path, value, default, known) for each key, descending only where
    the chart's default is a non-empty, non-free-form map."""
    for key, value in values.items():
        path = (*prefix, str(key))
        if key not in defaults:
            yield path, value, None, False
            continue
        default = defaults[key]
        yield path, value, default, True
        if (
            isinstance(value, Mapping)
            and isinstance(default, Mapping)
            and default
            and str(key) not in FREE_FORM_KEY_NAMES
            and path not in free_paths
        ):
            yield from _walk(value, default, free_paths, path)


def _istio_user_defaults(raw_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The keys users actually set for an Istio chart: the internal defaults
    plus whatever the chart keeps at the top level."""
    internal = raw_defaults[ISTIO_INTERNAL_DEFAULTS]
    top_level = {k: v for k, v in raw_defaults.items() if k != ISTIO_INTERNAL_DEFAULTS}
    return deep_merge(internal if isinstance(internal, Mapping) else {}, top_level)


def _dotted(path: KeyPath) -> str:
    """a.b."c.d": keys that contain dots (argocd-cm style) are quoted."""
    return ".".join(f'"{part}"' if "." in part else part for part in path) or "(root)"


# --- schema ------------------------------------------------------------------


def _helm_coalesce(defaults: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """What Helm validates: user values over the chart defaults, maps merged,
    and a null user value deleting the default key."""
    merged: dict[str, Any] = copy.deepcopy(dict(defaults))
    for key, value in values.items():
        current = merged.get(key)
        if value is None:
            merged.pop(key, None)
        elif isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = _helm_coalesce(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _schema_problems(schema: Mapping[str, Any], instance: Mapping[str, Any]) -> list[str]:
    # Imported here: only the chart checks need jsonschema, and its ~0.2 s
    # import would otherwise be paid by every synth.
    from jsonschema import Draft7Validator  # type: ignore[import-untyped]
    from jsonschema.validators import validator_for  # type: ignore[import-untyped]

    # Draft 7 when the schema names no draft jsonschema knows (istio's gateway
    # says "http://json-schema.org/schema#"); otherwise the declared draft.
    validator_class = validator_for(schema, default=Draft7Validator)
    validator = validator_class(schema)
    problems: list[str] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path))):
        location = _dotted(tuple(str(p) for p in error.absolute_path))
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        problems.append(f"{location}: {message} (schema)")
    return problems


# --- reference files -----------------------------------------------------------


@cache
def _reference_identity(path: Path) -> tuple[str, str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    fields = ("repository", "chart", "version")
    if not (isinstance(data, dict) and all(isinstance(data.get(f), str) for f in fields)):
        raise ValueError(
            f"{path}: needs the chart its reference data describes: "
            '`repository: <https:// or oci:// URL>`, `chart: <name>`, `version: "<x.y.z>"`'
        )
    return data["repository"].rstrip("/"), data["chart"], data["version"]


# Cached by path: tests point CHART_REFERENCE_DIR elsewhere.
@cache
def _chart_defaults(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: chart defaults must be a mapping")
    return data


@cache
def _chart_schema(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a JSON schema must be an object")
    return data
