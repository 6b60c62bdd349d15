"""Notebooks reach MLflow as their user: a JupyterHub token for MLflow, minted at spawn.

This file is a hub.extraConfig snippet, shipped as text like authenticator.py:
values.py `mlflow_access_config` replaces the two configuration lines below
and the chart's jupyterhub_config.py runs it with exec() in its globals (which
hold the config object `c`), after its own services and roles. The platform
never imports it to run it; tests run the rendered text inside a real
JupyterHub 5.5.0, and MLflow's authorization function
(platform_services/mlflow/scripts/platform_mlflow_auth.py) accepts exactly
the tokens it mints.

- MLflow is a JupyterHub service without a `url` (with one, JupyterHub 5
  would route it and, under subdomains, give it a host of its own) and
  without an API token: it only names the scope
  access:services!service=<MLFLOW_SERVICE>.
- Users get that scope through the `user` role (JupyterHub 5.5's default
  user role is "self" only, which does not include it).
- At spawn, a token with only that scope is minted for the server and handed
  to it as MLFLOW_TRACKING_TOKEN, with MLFLOW_TRACKING_URI (every profile,
  GPU ones included: profiles do not override the environment). The MLflow
  client sends it as `Authorization: Bearer`. A server's earlier token is
  deleted at its next spawn and when it stops.
"""

from __future__ import annotations

from typing import Any

# The configuration lines: values.py replaces each whole line.
MLFLOW_SERVICE = "placeholder-service"
MLFLOW_TRACKING_URI = "http://placeholder.invalid"

#: The note of the tokens minted here (one per server).
TOKEN_NOTE = "MLflow tracking, minted at spawn"
#: This file's name when imported as a module (tests, type checks).
_MODULE = "platform_services.jupyterhub.mlflow_access"


def mlflow_scope() -> str:
    return f"access:services!service={MLFLOW_SERVICE}"


def _note(spawner: Any) -> str:
    return f"{TOKEN_NOTE} (server {spawner.name or '<default>'})"


def _forget_tokens(spawner: Any) -> None:
    """Delete the tokens minted here for this server."""
    note = _note(spawner)
    db = spawner.user.db
    for token in list(spawner.user.orm_user.api_tokens):
        if token.note == note:
            db.delete(token)
    db.commit()


def mint_mlflow_token(spawner: Any) -> None:
    """pre_spawn_hook: MLFLOW_TRACKING_URI and a token with only MLflow's scope."""
    _forget_tokens(spawner)
    token = spawner.user.new_api_token(note=_note(spawner), scopes=[mlflow_scope()])
    spawner.environment = {
        **spawner.environment,
        "MLFLOW_TRACKING_URI": MLFLOW_TRACKING_URI,
        "MLFLOW_TRACKING_TOKEN": token,
    }


def configure(c: Any) -> None:
    """Register MLflow, grant users its scope, mint the token at spawn."""
    c.JupyterHub.services.append({"name": MLFLOW_SERVICE})
    c.JupyterHub.load_roles.append({"name": "user", "scopes": ["self", mlflow_scope()]})
    c.Spawner.pre_spawn_hook = mint_mlflow_token
    c.Spawner.post_stop_hook = _forget_tokens


if __name__ != _MODULE:
    # Run by the chart's jupyterhub_config.py (exec() in its globals).
    configure(globals()["c"])
