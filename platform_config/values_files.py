"""`values_file` fields: a file in helm-values/, checked when the config is."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

from platform_config import paths
from platform_config.types import ValuesFileName
from platform_config.yaml_reader import YamlError, parse_yaml, read_text_file

#: A Helm values file is hand-written YAML of a few KB.
MAX_VALUES_FILE_BYTES = 256 * 1024


def check_values_file(value: str) -> str:
    """The file exists in helm-values/ and is bounded YAML holding a mapping.

    Read here so a broken values file fails check-config, not synth. The
    cdktf token marker is refused: nothing but code may reference Terraform.
    A file named by several apps is read once.
    """
    path = paths.HELM_VALUES_DIR / value
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ValueError(f"helm-values/{value} does not exist") from None
    except OSError as err:
        raise ValueError(f"helm-values/{value}: cannot read it ({err.strerror})") from None
    problem = _values_file_problem(str(path), info.st_mtime_ns, info.st_size)
    if problem is not None:
        raise ValueError(f"helm-values/{value}{problem}")
    return value


@functools.lru_cache(maxsize=64)
def _values_file_problem(path: str, _mtime_ns: int, _size: int) -> str | None:
    """What is wrong with a values file (cached per version of the file), or None."""
    try:
        text = read_text_file(Path(path), max_bytes=MAX_VALUES_FILE_BYTES)
        data = parse_yaml(text)
    except FileNotFoundError:
        return " does not exist"
    except YamlError as err:
        return f": {err}"
    if data is not None and not isinstance(data, dict):
        return " must hold a mapping of Helm values"
    if "TfToken[" in text:
        return " contains a cdktf token marker ('TfToken[')"
    return None


ValuesFile = Annotated[ValuesFileName, AfterValidator(check_values_file)]
