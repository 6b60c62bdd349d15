"""Read and validate a platform config file, with errors a person can act on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from platform_config.model import FIELD_MARK, PlatformConfig

#: `make synth` works with no edits: this file is the embedded default.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "example.yaml"
CONFIG_ENV_VAR = "PLATFORM_CONFIG"


class ConfigError(Exception):
    """A config file that cannot be used. str() is the full, printable report."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = [f"error: invalid platform config {self.path}"]
        lines += [f"  - {problem}" for problem in problems]
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
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _describe(error: Any) -> str:
    # Pydantic appends the failing type/function name to the location of
    # Annotated validators; keep only the real field names and list indexes.
    location = tuple(
        part
        for part in error["loc"]
        if isinstance(part, int) or not (part.startswith("function-") or "[" in part)
    )
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith(FIELD_MARK):
        # A model validator named the field it is about (model.field_error).
        _, sub_path, message = message.split(FIELD_MARK, 2)
        location += tuple(sub_path.split("."))
    field = _field_path(location)
    if kind == "extra_forbidden":
        return f"{field}: unknown key (check the spelling; see the config reference in README.md)"
    if kind == "missing":
        return f"{field}: required field is missing"
    if kind == "literal_error":
        return f"{field}: got {error['input']!r}; {message[0].lower()}{message[1:]}"
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
        return f"{field}: got {error['input']!r}; {message[0].lower()}{message[1:]}"
    return f"{field}: {message}"


def parse_config(data: Any, path: Path | str = "<config>") -> PlatformConfig:
    """Validate already-parsed YAML data."""
    if data is None:
        raise ConfigError(path, ["the file is empty: see config/example.yaml for a starting point"])
    if not isinstance(data, dict):
        raise ConfigError(
            path, [f"the top level must be a mapping of keys, got {type(data).__name__}"]
        )
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(path, [_describe(e) for e in err.errors()]) from None


def load_config(path: Path | str | None = None) -> PlatformConfig:
    """Load the config at `path` (default: $PLATFORM_CONFIG or the example)."""
    config_path = Path(path) if path is not None else config_path_from_env()
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            config_path, [f"file not found (set {CONFIG_ENV_VAR} to an existing YAML file)"]
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise ConfigError(config_path, [f"cannot read the file: {err}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(config_path, [f"YAML syntax error at {where}{problem}"]) from None
    return parse_config(data, config_path)
