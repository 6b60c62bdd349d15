"""URL fields: Helm repositories and the GitOps repository, parsed (urllib), not
only matched; the pattern pre-filters and is what the JSON schema shows."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator

from platform_config import types as t
from platform_config.yaml_reader import shown

_HOST = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)+"
_URL_PATH = r"(?:/[A-Za-z0-9._~+-]+)*/?"

RepoScheme = Literal["https", "ssh"]


def check_url(value: str, schemes: tuple[str, ...], *, user_allowed: bool) -> str:
    """Parse the URL (urllib) and check each part; the pattern only pre-filters."""
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ValueError(f"{shown(value)}: the scheme must be one of {', '.join(schemes)}")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(f"{shown(value)}: no query (?...) or fragment (#...) allowed")
    if parts.password is not None or (parts.username is not None and not user_allowed):
        raise ValueError(
            f"{shown(value)}: no user or password in the URL; credentials belong "
            "in Secret Manager (gitops.private)"
        )
    host = parts.hostname or ""
    if not re.fullmatch(_HOST, host) or host != parts.netloc.rsplit("@", 1)[-1].split(":")[0]:
        raise ValueError(f"{shown(value)}: the host must be a lowercase DNS name")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{shown(value)}: the port must be 1-65535") from None
    if port == 0:
        raise ValueError(f"{shown(value)}: the port must be 1-65535")
    if ".." in parts.path.split("/"):
        raise ValueError(f"{shown(value)}: the path may not contain '..'")
    return value


HttpsOrOciUrl = Annotated[
    str,
    t.rule(
        rf"(?:https|oci)://{_HOST}(?::[0-9]{{1,5}})?{_URL_PATH}",
        "an https:// or oci:// Helm repository URL such as https://charts.example.com/stable "
        "(no user, query or fragment)",
        max_length=300,
    ),
    AfterValidator(lambda value: check_url(value, ("https", "oci"), user_allowed=False)),
]


def repo_scheme(value: str) -> RepoScheme:
    """How Argo CD reaches a GitOps repository URL: https, or ssh (ssh:// and git@host:path).

    The one place the URL's form is told apart: the check below and every
    consumer (GitOpsConfig.repo_scheme) read it from here.
    """
    return "https" if value.startswith("https://") else "ssh"


def check_repo_url(value: str) -> str:
    if repo_scheme(value) == "https":
        return check_url(value, ("https",), user_allowed=False)
    if value.startswith("ssh://"):
        return check_url(value, ("ssh",), user_allowed=True)
    # scp-like git@host:org/repo.git: rewritten as ssh:// to parse it the same way.
    user, _, rest = value.partition("@")
    host, _, path = rest.partition(":")
    check_url(f"ssh://{user}@{host}/{path}", ("ssh",), user_allowed=True)
    return value


GitRepoUrl = Annotated[
    str,
    t.rule(
        rf"https://{_HOST}(?::[0-9]{{1,5}})?{_URL_PATH}"
        rf"|ssh://(?:[a-z0-9_][a-z0-9._-]{{0,31}}@)?{_HOST}(?::[0-9]{{1,5}})?{_URL_PATH}"
        rf"|[a-z0-9_][a-z0-9._-]{{0,31}}@{_HOST}:[A-Za-z0-9._~+-]+(?:/[A-Za-z0-9._~+-]+)*",
        "an https://, ssh:// or git@host:org/repo.git URL (no password, query or fragment)",
        max_length=300,
    ),
    AfterValidator(check_repo_url),
]
