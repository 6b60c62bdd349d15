"""Each sink of config strings gets exactly the tokens the config accepted.

Argo CD's policy.csv: any email the config accepts reads back, the way Argo
CD reads it, as exactly one `g, <email>, role:admin` rule; an email that could
add a field or a line is refused by the config and by the builder itself.
Shell commands printed in outputs: each value is one shell word (shlex).
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_config import ConfigError, parse_config
from platform_config.types import PATTERN_HELP
from platform_services.argocd.values import argocd_values
from tests.support.argocd import policy_lines
from tests.support.synth import Synthesized
from tests.support.variants import VARIANTS, example_data

EMAIL_PATTERN = next(p for p, help_ in PATTERN_HELP.items() if "one lowercase email" in help_)
emails = st.from_regex(EMAIL_PATTERN, fullmatch=True).filter(lambda e: len(e) <= 254)


def _policy_csv(admins: list[str]) -> str:
    values: dict[str, Any] = argocd_values(
        team_applications_namespace="team-apps",
        host="argocd.example.com",
        admins=admins,
        default_role="none",
        sign_in="iap",
        identity_header="x-iap-user-email",
    )
    policy: str = values["configs"]["rbac"]["policy.csv"]
    return policy


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(admins=st.lists(emails, min_size=1, max_size=4, unique=True))
def test_every_accepted_admin_is_one_policy_rule(admins: list[str]) -> None:
    data = example_data()
    data["access"]["argocd_admins"] = admins
    config = parse_config(data)
    rules = policy_lines(_policy_csv(list(config.access.argocd_admins)))
    assert rules == [["g", admin, "role:admin"] for admin in sorted(admins)]


HOSTILE_ADMINS = [
    "a@example.com, role:admin",
    'a@example.com", "role:admin',
    "a@example.com\ng, mallory@example.com, role:admin",
    "a@example.com role:admin",
    "#a@example.com",
]


@pytest.mark.parametrize("admin", HOSTILE_ADMINS)
def test_an_admin_that_would_change_policy_csv_is_refused(admin: str) -> None:
    data = example_data()
    data["access"]["argocd_admins"] = [admin]
    with pytest.raises(ConfigError, match=r"access\.argocd_admins\[0\]"):
        parse_config(data)
    with pytest.raises(ValueError, match="plain email addresses"):
        _policy_csv([admin])


def test_the_reader_sees_the_injection_the_check_prevents() -> None:
    """Unchecked, the first hostile admin would be a rule with an extra field."""
    line = f"g, {HOSTILE_ADMINS[0]}, role:admin"
    with pytest.raises(ValueError, match="invalid RBAC policy"):
        policy_lines(line)


@pytest.mark.parametrize("variant", ["example", "bastion", "hostile"])
def test_printed_commands_split_into_the_config_names(
    synthesized: Synthesized, variant: str
) -> None:
    """Shell commands in outputs: each config-derived value is exactly one shell word."""
    data = VARIANTS[variant]()
    data["apps"].pop("team-app", None)  # its values file exists only during the session synth
    config = parse_config(data)
    outputs = synthesized.stack(variant, "cluster")["output"]
    words = shlex.split(outputs["get_credentials_command"]["value"])
    assert words[:5] == [
        "gcloud",
        "container",
        "clusters",
        "get-credentials",
        config.names.gke_cluster,
    ]
    assert words[words.index("--project") + 1] == config.project_id
    for command in outputs["secrets_to_fill"]["value"].values():
        fill = shlex.split(command.split(" --data-file=")[0])
        assert fill[4] in {config.names.repo_credentials_secret, config.names.oidc_client_secret}
        assert fill[-1] == config.project_id
    if config.bastion_mode:
        tunnel = shlex.split(outputs["tunnel_command"]["value"])
        assert tunnel[3] == config.names.bastion
        assert tunnel[tunnel.index("--zone") + 1] == config.bastion_zone
