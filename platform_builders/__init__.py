"""Pure builders: plain data, dicts and YAML for the constructs and services.

Nothing here imports cdktf (tests/architecture checks it)."""
