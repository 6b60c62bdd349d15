"""`python -m platform_config [FILE] [--print-facts NAME...]`: validate a config
without synthesizing.

Used by `make check-config` and `make synth` so a bad file is rejected in well
under a second, before cdktf-cli and jsii start. FILE defaults to
$PLATFORM_CONFIG, then config/example.yaml (a file literally named
`--print-facts` is given as `./--print-facts`).

A valid file prints one `config OK: ...` line; a bad one prints the
validation error to stderr and exits 2.

--print-facts: the operator scripts (tools/deploy.sh, tools/state_bucket.sh)
read the values they pass to gcloud from the same single load: the `config
OK` line goes to stderr, and stdout gets each named fact of the validated
config, one per line, in the order asked. Only the names in FACTS exist (an
unknown one is a usage error, exit 2, before the file is read): each is a
validated name, id or mode, never raw YAML and never a path into the model.
On a bad config nothing goes to stdout.

The facts are what the scripts hand to gcloud and cdktf, so --print-facts also
refuses the example config's placeholder project (one line, exit 2): `make
state-bucket`, `make plan` and `make deploy` stop before any cloud call, while
`make synth` and `make test` (the plain check) keep working with the example.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from platform_config.loader import ConfigError, config_path_from_env, load_config
from platform_config.model import PlatformConfig
from platform_config.yaml_reader import clip, shown

PRINT_FACTS = "--print-facts"
USAGE = f"usage: python -m platform_config [FILE] [{PRINT_FACTS} NAME...]"

#: What --print-facts can print, by name: single-line values checked by the model.
FACTS: dict[str, Callable[[PlatformConfig], str]] = {
    "project_id": lambda config: config.project_id,
    "region": lambda config: config.region,
    "state_bucket": lambda config: config.state_bucket,
    "control_plane_access": lambda config: config.cluster.control_plane_access,
    "bastion_vm": lambda config: config.names.bastion,
    "bastion_zone": lambda config: config.bastion_zone,
}


#: config/example.yaml's project_id: a placeholder, never a project to deploy to
#: (tests/tools/test_deploy.py runs the scripts on the untouched example).
EXAMPLE_PROJECT_ID = "example-mlops-project"


def cloud_refusal(config: PlatformConfig) -> str | None:
    """Why the operator scripts must not act on this config, in one line; None: they may."""
    if config.project_id == EXAMPLE_PROJECT_ID:
        return (
            f"platform_config: project_id {EXAMPLE_PROJECT_ID} is the example config's "
            "placeholder: set PLATFORM_CONFIG to your own config with your Google Cloud project "
            "(copy config/example.yaml, change project_id, state_bucket and the names)"
        )
    return None


def _usage_error(message: str) -> int:
    print(f"platform_config: {message}\n{USAGE}", file=sys.stderr)
    print(f"facts: {', '.join(FACTS)}", file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    args = list(argv)
    path = config_path_from_env() if not args or args[0] == PRINT_FACTS else args.pop(0)
    facts: list[str] | None = None
    if args:
        if args[0] != PRINT_FACTS:
            return _usage_error(f"unexpected argument {shown(args[0], 80)}")
        facts = args[1:]
        if not facts:
            return _usage_error(f"{PRINT_FACTS} needs at least one fact name")
        unknown = [name for name in facts if name not in FACTS]
        if unknown:
            return _usage_error(f"unknown fact {shown(unknown[0], 80)}")
    try:
        config = load_config(path)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    if facts is None:
        print(_config_ok(path, config))
        return 0
    return _print_facts(path, config, facts)


def _config_ok(path: Path | str, config: PlatformConfig) -> str:
    apps = ", ".join(config.apps.enabled()) or "none"
    return (
        f"config OK: {clip(str(path), 300)} (environment {config.environment}, "
        f"project {config.project_id}, "
        f"{config.cluster.control_plane_access} access, apps: {apps})"
    )


def _print_facts(path: Path | str, config: PlatformConfig, facts: list[str]) -> int:
    """--print-facts: the refusal or the `config OK` line on stderr, the facts on stdout."""
    refusal = cloud_refusal(config)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    print(_config_ok(path, config), file=sys.stderr)
    values = [FACTS[name](config) for name in facts]
    for name, value in zip(facts, values, strict=True):
        # One line each for `read`: a value that would break the framing is a bug here.
        if not value or "\n" in value or "\r" in value:
            print(f"platform_config: fact {name} is not a single line", file=sys.stderr)
            return 2
    print("\n".join(values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
