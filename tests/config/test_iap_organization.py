"""IAP members must be able to pass IAP's Google-managed OAuth client, which admits
only accounts of the project's organization (issue 19, fix 8; FIELD-NOTES, Front
door). The config names the organization's domains (`access.organization_domains`)
and refuses a user:/group:/domain: member outside them; without the field it fails
closed and says exactly what to add. Service accounts are exempt (see
platform_config/rules.py: they never sign in through the browser client, and their
email domain says nothing about their organization)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from platform_config import ConfigError, load_config, parse_config
from tests.support.variants import Json, example_data


def _access(**access: object) -> Json:
    data = copy.deepcopy(example_data())
    data["access"].update(access)
    return data


def _error(data: Json) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "bad.yaml")
    return str(caught.value)


def test_the_example_lists_its_organization_and_is_valid() -> None:
    config = parse_config(example_data())
    assert config.access.organization_domains == ["example.com"]


def test_members_of_listed_domains_and_service_accounts_pass() -> None:
    data = _access(
        organization_domains=["example.com", "example.co.uk"],
        iap_members=[
            "group:ml-team@example.com",
            "user:o_brien-x@example.co.uk",
            "domain:example.com",
            "serviceAccount:ci@other-project.iam.gserviceaccount.com",
        ],
    )
    assert parse_config(data).access.organization_domains == ["example.com", "example.co.uk"]


@pytest.mark.parametrize(
    ("member", "domain"),
    [
        ("user:alice@gmail.com", "gmail.com"),
        ("group:contractors@partner.example.org", "partner.example.org"),
        # A subdomain is a domain of its own in Cloud Identity: listed or refused.
        ("user:bob@eu.example.com", "eu.example.com"),
    ],
)
def test_a_user_or_group_outside_the_organization_is_refused(member: str, domain: str) -> None:
    data = _access(iap_members=["group:ml-team@example.com", member])
    message = _error(data)
    assert "bad.yaml" in message
    assert "access.iap_members[1]" in message
    assert f"the domain '{domain}'" in message
    assert "Google-managed" in message
    assert f"if {domain} belongs to the organization, add it to access.organization_domains" in (
        message
    )
    assert "use an account of the organization" in message
    assert "access.iap_members[0]" not in message


def test_a_domain_member_must_be_listed() -> None:
    message = _error(_access(iap_members=["domain:partner.example.org"]))
    assert "access.iap_members[0]" in message
    assert "the domain 'partner.example.org'" in message


def test_every_member_outside_is_named_at_once() -> None:
    data = _access(iap_members=["user:a@gmail.com", "group:ml-team@example.com", "user:b@x.org"])
    message = _error(data)
    assert "access.iap_members[0]" in message
    assert "access.iap_members[2]" in message
    assert "access.iap_members[1]" not in message


def test_without_the_field_the_config_fails_closed_and_says_what_to_add(tmp_path: Path) -> None:
    data = copy.deepcopy(example_data())
    del data["access"]["organization_domains"]
    data["access"]["iap_members"] = ["group:ml-team@example.com", "user:a@example.co.uk"]
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert "access.organization_domains" in message
    assert "`organization_domains: [example.co.uk, example.com]` under access" in message
    assert "Google-managed OAuth client admits only accounts" in message


def test_only_service_accounts_need_no_domains() -> None:
    data = copy.deepcopy(example_data())
    del data["access"]["organization_domains"]
    robot = "serviceAccount:ci@example-mlops-project.iam.gserviceaccount.com"
    data["access"]["iap_members"] = [robot]
    assert parse_config(data).access.organization_domains == []


@pytest.mark.parametrize(
    ("domains", "words"),
    [
        (["@example.com"], "bare DNS name"),
        (["Example.com"], "lower case"),
        (["example.com", "example.com"], "duplicate"),
    ],
)
def test_organization_domains_are_dns_names(domains: list[str], words: str) -> None:
    message = _error(_access(organization_domains=domains))
    assert "access.organization_domains" in message
    assert words in message
