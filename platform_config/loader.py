"""Read and validate a platform config file, with errors a person can act on."""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from platform_config.model import (
    FIELD_MARK,
    RULE_PROBLEMS,
    UNSAFE_STRINGS_CHECKED,
    PlatformConfig,
)
from platform_config.rules import problems_of_valid_sections
from platform_config.safe_data import unsafe_strings
from platform_config.types import PATTERN_HELP
from platform_config.yaml_reader import YamlError, clip, parse_yaml, read_text_file, shown

#: `make synth` works with no edits: this file is the embedded default.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "example.yaml"
CONFIG_ENV_VAR = "PLATFORM_CONFIG"
#: A report lists at most this many problems (then how many more there are).
MAX_PROBLEMS = 20
#: And no line of it is longer than this.
MAX_PROBLEM_CHARS = 600


class ConfigError(Exception):
    """A config file that cannot be used. str() is the full, printable report."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = clip(str(path), 300)
        self.problems = [clip(problem, MAX_PROBLEM_CHARS) for problem in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            self.problems.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        lines = [f"error: invalid platform config {self.path}"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


def config_path_from_env() -> Path:
    """The file named by PLATFORM_CONFIG, or the example config."""
    value = os.environ.get(CONFIG_ENV_VAR, "").strip()
    return Path(value) if value else DEFAULT_CONFIG


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]{1,64}", part):
            path += f".{part}" if path else part
        else:
            # A key from the file (unknown key, label, app name): quoted, cut.
            path += f"[{shown(part, 80)}]"
    return path or "(top level)"


def _strip(annotation: Any) -> Any:
    """The type under Annotated[...] and `X | None` (when one type remains)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _step(annotation: Any, part: int | str) -> Any:
    """The type one location part below `annotation`, or None when unknown."""
    annotation = _strip(annotation)
    if isinstance(part, int):
        return get_args(annotation)[0] if get_origin(annotation) is list else None
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return None
    field = annotation.model_fields.get(part)
    if field is not None:
        return field.annotation
    if annotation.model_config.get("extra") == "allow":
        # AppsConfig: extra keys are apps (`__pydantic_extra__: dict[str, AppConfig]`).
        extra = typing.get_type_hints(annotation).get("__pydantic_extra__")
        return get_args(extra)[1] if get_origin(extra) is dict else None
    return None


def known_keys(location: tuple[int | str, ...]) -> list[str] | None:
    """The keys the config allows in the mapping at `location` (None: unknown)."""
    annotation: Any = PlatformConfig
    for part in location:
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return None


def _unknown_key(field: str, location: tuple[int | str, ...]) -> str:
    """`<field>: unknown key; did you mean <closest>?`, or what the mapping allows."""
    allowed = known_keys(location[:-1]) if location else None
    if not allowed:
        return f"{field}: unknown key (check the spelling; see the config reference in README.md)"
    close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
    if close:
        return f"{field}: unknown key; did you mean {close[0]}?"
    return (
        f"{field}: unknown key; allowed here: {', '.join(allowed)} "
        "(see the config reference in README.md)"
    )


def error_field(error: Any) -> tuple[str, tuple[int | str, ...]]:
    """The field path a pydantic error is about, and its location in the data."""
    # Pydantic appends the failing type/function name to the location of
    # Annotated validators; keep only the real field names and list indexes.
    location = tuple(
        part
        for part in error["loc"]
        if isinstance(part, int) or not (part.startswith("function-") or "[" in part)
    )
    message = str(error["msg"]).removeprefix("Value error, ")
    field = _field_path(location)
    if message.startswith(FIELD_MARK):
        # A model validator named the field it is about (base.field_error):
        # already safe, built from field names and key_path.
        _, sub_path, _ = message.split(FIELD_MARK, 2)
        joiner = "" if field == "(top level)" else ("" if sub_path.startswith("[") else ".")
        field = sub_path if field == "(top level)" else f"{field}{joiner}{sub_path}"
    return field, location


def _describe(error: Any) -> str:
    field, location = error_field(error)
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith(FIELD_MARK):
        message = message.split(FIELD_MARK, 2)[2]
    if kind == "extra_forbidden":
        return _unknown_key(field, location)
    if kind == "missing":
        return f"{field}: required field is missing"
    if kind == "string_pattern_mismatch":
        allowed = PATTERN_HELP.get(str(error.get("ctx", {}).get("pattern")), message)
        return f"{field}: got {shown(error['input'])}; expected {allowed}"
    if kind == "literal_error":
        return f"{field}: got {shown(error['input'])}; {message[0].lower()}{message[1:]}"
    if kind in {
        "int_type",
        "int_parsing",
        "bool_type",
        "bool_parsing",
        "string_type",
        "list_type",
        "dict_type",
        "model_type",
        "int_from_float",
    }:
        return f"{field}: got {shown(error['input'])}; {message[0].lower()}{message[1:]}"
    return f"{field}: {message}"


def _within(field: str, paths: list[str]) -> bool:
    """Whether `field` is one of `paths` or inside one (`a.[k]` and `a[k]` alike)."""
    field = field.replace(".[", "[")
    for path in (p.replace(".[", "[") for p in paths):
        if field == path or field.startswith((f"{path}.", f"{path}[")):
            return True
    return False


def config_problems(data: dict[str, Any]) -> tuple[list[str], PlatformConfig | None]:
    """Every problem of every stage that can be evaluated, and the config if there is none.

    Three stages, all run: strings that can never be config data (all of them),
    the fields (pydantic reports every invalid field), and the rules across
    sections (platform_config/rules.py): every rule when the fields are valid,
    otherwise each rule that reads only sections that validated. A field's
    error under a string the first stage reported is left out (the same
    problem twice).
    """
    unsafe = list(unsafe_strings(data))
    lines = [f"{path}: {problem}" for path, problem in unsafe]
    rule_problems: list[tuple[str, str]] = []
    config: PlatformConfig | None
    try:
        config = PlatformConfig.model_validate(
            data, context={UNSAFE_STRINGS_CHECKED: True, RULE_PROBLEMS: rule_problems}
        )
    except ValidationError as err:
        config = None
        errors = err.errors()
        unsafe_paths = [path for path, _ in unsafe]
        lines += [_describe(e) for e in errors if not _within(error_field(e)[0], unsafe_paths)]
        invalid = {e["loc"][0] if e["loc"] else "" for e in errors}
        rule_problems = problems_of_valid_sections(data, {str(name) for name in invalid})
    lines += [f"{path}: {problem}" for path, problem in rule_problems]
    problems = list(dict.fromkeys(lines))
    return problems, (config if not problems else None)


def parse_config(data: Any, path: Path | str = "<config>") -> PlatformConfig:
    """Validate already-parsed YAML data; ConfigError lists every problem found."""
    if data is None:
        raise ConfigError(path, ["the file is empty: see config/example.yaml for a starting point"])
    if not isinstance(data, dict):
        raise ConfigError(
            path, [f"the top level must be a mapping of keys, got {type(data).__name__}"]
        )
    problems, config = config_problems(data)
    if config is None:
        raise ConfigError(path, problems)
    return config


def load_config(path: Path | str | None = None) -> PlatformConfig:
    """Load the config at `path` (default: $PLATFORM_CONFIG or the example).

    Bounded on any input: only a regular file of at most MAX_FILE_BYTES is
    read, and the YAML reader refuses aliases, duplicate keys, deep nesting
    and huge numbers (platform_config/yaml_reader.py).
    """
    config_path = Path(path) if path is not None else config_path_from_env()
    try:
        text = read_text_file(config_path)
    except FileNotFoundError:
        raise ConfigError(
            config_path, [f"file not found (set {CONFIG_ENV_VAR} to an existing YAML file)"]
        ) from None
    except YamlError as err:
        raise ConfigError(config_path, [str(err)]) from None
    try:
        data = parse_yaml(text)
    except YamlError as err:
        raise ConfigError(config_path, [str(err)]) from None
    return parse_config(data, config_path)
