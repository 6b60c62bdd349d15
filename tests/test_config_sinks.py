"""Each sink of config strings gets exactly the tokens the config accepted.

Argo CD's policy.csv: any email the config accepts reads back, the way Argo
CD reads it, as exactly one `g, <email>, role:admin` rule; an email that could
add a field or a line is refused by the config and by the builder itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_config import ConfigError, parse_config
from platform_config.types import PATTERN_HELP
from platform_constructs.argocd_values import argocd_values
from tests.conftest import example_data
from tests.test_argocd_rbac import _policy_lines

EMAIL_PATTERN = next(p for p, help_ in PATTERN_HELP.items() if "one lowercase email" in help_)
emails = st.from_regex(EMAIL_PATTERN, fullmatch=True).filter(lambda e: len(e) <= 254)


def _policy_csv(admins: list[str]) -> str:
    values: dict[str, Any] = argocd_values(
        host="argocd.example.com",
        admins=admins,
        default_role="none",
        sign_in="iap",
        identity_header="x-iap-user-email",
    )
    policy: str = values["configs"]["rbac"]["policy.csv"]
    return policy


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(admins=st.lists(emails, min_size=1, max_size=4, unique=True))
def test_every_accepted_admin_is_one_policy_rule(admins: list[str]) -> None:
    data = example_data()
    data["access"]["argocd_admins"] = admins
    config = parse_config(data)
    rules = _policy_lines(_policy_csv(list(config.access.argocd_admins)))
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
        _policy_lines(line)
