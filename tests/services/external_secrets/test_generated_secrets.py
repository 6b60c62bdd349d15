"""Issue #12 item 3: the apps' generated secrets are made once, in the cluster.

Argo CD renders charts with `helm template`, where Helm's `lookup` returns
nothing. What each chart does then (templates read at the pinned versions):

- zero-to-jupyterhub 4.4.0, templates/hub/_helpers-passwords.tpl: each of
  cookie_secret / CryptKeeper.keys / the proxy auth_token is "1. the chart
  configuration's value, 2. the k8s Secret's value (lookup), 3. random". A
  non-empty hub.config.JupyterHub.cookie_secret and hub.config.CryptKeeper.keys
  stop steps 2-3. files/hub/z2jh.py get_secret_value reads hub.existingSecret
  before the chart's Secret, so those values are only placeholders. The
  proxy token is read only from the chart's own Secret (values.schema.yaml,
  hub.existingSecret), so Argo CD keeps the first one it applied.
- community-charts mlflow 1.11.5, templates/flask_secret.yaml: the key is
  `flaskServerSecretKey` when non-empty, else mlflow.generateRandomHex; the
  Deployment reads it with envFrom, followed by extraSecretNamesForEnvFrom.
"""

from __future__ import annotations

import copy

from platform_services.jupyterhub.values import (
    HUB_SECRET_KEYS,
    HUB_SECRET_NAME,
    HUB_VALUES_CHECKSUM_ANNOTATION,
    values_checksum,
)
from platform_services.mlflow.values import MLFLOW_FLASK_SECRET_KEY, MLFLOW_FLASK_SECRET_NAME
from tests.support.stacks import applications_by_name, generated, secrets_config
from tests.support.synth import Synthesized
from tests.support.variants import Json


def assert_generated_once(stack: Json, secret_name: str, namespace: str, keys: set[str]) -> Json:
    external_secret, generator = generated(stack, secret_name)
    assert external_secret["metadata"]["namespace"] == namespace
    spec = external_secret["spec"]
    assert spec["refreshPolicy"] == "CreatedOnce"
    assert "secretStoreRef" not in spec  # generators need no store
    assert generator["apiVersion"] == "generators.external-secrets.io/v1alpha1"
    assert generator["kind"] == "Password"
    assert set(generator["spec"]["secretKeys"]) == keys
    assert generator["spec"]["symbols"] == 0
    assert generator["spec"]["length"] >= 32
    return dict(generator["spec"])


def test_jupyterhub_reads_its_secrets_from_the_generated_secret(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack("example", "bootstrap")
    app = applications_by_name(stack)["jupyterhub"]
    hub = app["source"]["helm"]["valuesObject"]["hub"]
    assert hub["existingSecret"] == HUB_SECRET_NAME
    assert_generated_once(
        stack, HUB_SECRET_NAME, app["destination"]["namespace"], set(HUB_SECRET_KEYS)
    )
    # The values that make _helpers-passwords.tpl skip lookup + random.
    assert hub["config"]["JupyterHub"]["cookie_secret"]
    assert hub["config"]["CryptKeeper"]["keys"]
    # No proxy token in Git/state: neither value that would set it.
    assert "auth_token" not in hub["config"].get("ConfigurableHTTPProxy", {})
    assert not app["source"]["helm"]["valuesObject"].get("proxy", {}).get("secretToken")


def test_jupyterhub_keeps_the_chart_generated_proxy_token(synthesized: Synthesized) -> None:
    app = applications_by_name(synthesized.stack("example", "bootstrap"))["jupyterhub"]
    ignored = {
        (d.get("group", ""), d["kind"], d["name"], pointer)
        for d in app["ignoreDifferences"]
        for pointer in d["jsonPointers"]
    }
    assert ignored == {
        ("", "Secret", "hub", "/data/hub.config.ConfigurableHTTPProxy.auth_token"),
        ("apps", "Deployment", "hub", "/spec/template/metadata/annotations/checksum~1secret"),
        ("apps", "Deployment", "proxy", "/spec/template/metadata/annotations/checksum~1auth-token"),
    }
    # Without it, a sync would still apply the freshly rendered token.
    assert "RespectIgnoreDifferences=true" in app["syncPolicy"]["syncOptions"]
    # Only this Application ignores anything.
    others = [a for n, a in applications_by_name(synthesized.stack("example", "bootstrap")).items()]
    assert sum("ignoreDifferences" in a for a in others) == 1


def test_hub_restarts_when_its_values_change(synthesized: Synthesized) -> None:
    """checksum/secret is ignored, so the platform's own checksum rolls the hub."""
    app = applications_by_name(synthesized.stack("example", "bootstrap"))["jupyterhub"]
    values = copy.deepcopy(app["source"]["helm"]["valuesObject"])
    assert values["hub"]["annotations"][HUB_VALUES_CHECKSUM_ANNOTATION] == values_checksum(values)
    before = values_checksum(values)
    values["hub"]["config"]["Authenticator"]["admin_users"].append("new-admin@example.com")
    assert values_checksum(values) != before


def test_mlflow_reads_its_flask_key_from_the_generated_secret(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "bootstrap")
    app = applications_by_name(stack)["mlflow"]
    values = app["source"]["helm"]["valuesObject"]
    assert_generated_once(
        stack, MLFLOW_FLASK_SECRET_NAME, app["destination"]["namespace"], {MLFLOW_FLASK_SECRET_KEY}
    )
    # The chart's envFrom lists its own flask Secret, then these: the last
    # source wins for a duplicate key.
    assert values["extraSecretNamesForEnvFrom"][-1] == MLFLOW_FLASK_SECRET_NAME
    # Non-empty: flask_secret.yaml renders it instead of generateRandomHex.
    assert values["flaskServerSecretKey"]


def test_generated_secrets_only_for_enabled_apps(synthesized: Synthesized) -> None:
    targets = {
        o["spec"]["target"]["name"]
        for o in secrets_config(synthesized.stack("bastion", "bootstrap"))
        if o["kind"] == "ExternalSecret"
    }
    assert HUB_SECRET_NAME in targets
    assert MLFLOW_FLASK_SECRET_NAME not in targets  # MLflow is off in the bastion variant
