"""JSON Schema of the platform config, for editors (completion, hover, red squiggles).

`python -m platform_config.schema` prints it; `make schema` writes
config/schema.json, which config files reference on their first line:

    # yaml-language-server: $schema=./schema.json

The schema is generated from the pydantic model, so it can never disagree with
it about keys, types, enums, defaults, patterns, lengths and ranges: single-field
rules are pydantic constraints (StringConstraints, Field(ge=...)) that export
to the schema. It cannot express cross-field rules (CIDR overlaps, derived
name lengths, reserved or duplicate hosts and namespaces), a values file's
existence, or URL parsing beyond the pattern: the loader stays the authority.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from platform_config.model import PlatformConfig

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "MLOps platform config"
DESCRIPTION = (
    "One YAML file describing a secure MLOps platform on GKE (network, cluster, "
    "bootstrap stacks). Chosen with PLATFORM_CONFIG; validate with "
    "`python -m platform_config`. Generated from platform_config/model.py by "
    "`make schema`: do not edit by hand."
)


def _key_patterns_as_property_names(node: Any) -> None:
    """Pydantic exports a dict's key pattern only as patternProperties, which
    leaves other keys unchecked; also state it as propertyNames (in place)."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1:
            names = node.setdefault("propertyNames", {})
            names.setdefault("pattern", next(iter(patterns)))
        for value in node.values():
            _key_patterns_as_property_names(value)
    elif isinstance(node, list):
        for item in node:
            _key_patterns_as_property_names(item)


def config_json_schema() -> dict[str, Any]:
    """The config's JSON Schema (draft 2020-12), as plain data."""
    schema = PlatformConfig.model_json_schema(mode="validation")
    _key_patterns_as_property_names(schema)
    # Dialect first, then our own title/description over the model's.
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        **schema,
        "title": TITLE,
        "description": DESCRIPTION,
    }


def render(schema: dict[str, Any]) -> str:
    """Stable text: sorted keys, 2-space indent, ASCII only, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> int:
    sys.stdout.write(render(config_json_schema()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
