"""`python -m platform_config [FILE]`: validate a config without synthesizing.

Used by `make synth` so a bad file is rejected in well under a second,
before cdktf-cli and jsii start.
"""

from __future__ import annotations

import sys

from platform_config.loader import ConfigError, config_path_from_env, load_config
from platform_config.yaml_reader import clip


def main(argv: list[str]) -> int:
    path = argv[0] if argv else config_path_from_env()
    try:
        config = load_config(path)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    apps = ", ".join(config.apps.enabled()) or "none"
    print(
        f"config OK: {clip(str(path), 300)} (environment {config.environment}, "
        f"project {config.project_id}, "
        f"{config.cluster.control_plane_access} access, apps: {apps})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
