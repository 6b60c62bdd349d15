"""Constrained string types of the config: data that can never become code.

Every string in the config ends up in some other language: Terraform JSON
(where ``${`` and ``%{`` start template syntax), YAML Helm values, Argo CD's
``policy.csv``, JupyterHub's Python config, shell commands in outputs,
Kubernetes names. So each field accepts only the characters its meaning needs,
and the rule is a regular expression that pydantic exports to the JSON schema
(string constraints of a ``Field``), so an editor checks the same thing the
loader does.

The patterns are anchored and use only syntax that both pydantic's regex
engine (Rust ``regex``) and JSON Schema's (ECMA-262) read the same way: no
look-around, no backreferences, ``$`` only as the end anchor.

Other modules may reuse these types for new fields:

- ``SafeText``: printable ASCII, no ``${`` / ``%{`` (the floor for any string);
- ``DnsLabel`` (RFC 1123 label, lowercase, at most 40 characters here),
  ``KubernetesName`` (DNS-1123 label, at most 63);
- ``Email``, ``IamMember``, ``DomainName``, ``HttpsUrl``;
- ``GitRevision``, ``RepoPath``.

``PATTERN_HELP`` maps each pattern to the sentence the loader prints when a
value does not match, so errors say what is allowed instead of quoting a regex.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

#: pattern -> what the loader tells the user is allowed.
PATTERN_HELP: dict[str, str] = {}


def rule(
    pattern: str,
    allowed: str,
    *,
    min_length: int | None = None,
    max_length: int | None = None,
) -> Any:
    """Constraint metadata for ``Annotated[str, rule(...)]``.

    The value must fully match `pattern` (anchored here); `allowed` says in
    words what that is. Pattern, lengths and description all reach the JSON
    schema (a pydantic ``Field`` carrying string constraints).
    """
    anchored = f"^(?:{pattern})$"
    re.compile(anchored)  # fail at import on a typo, not on the first config
    PATTERN_HELP[anchored] = allowed
    return Field(
        pattern=anchored, min_length=min_length, max_length=max_length, description=allowed
    )


# --------------------------------------------------------------------------- floor

#: The characters any config string may hold: printable ASCII. No control
#: characters (NUL, newline, escape), nothing outside ASCII (look-alike
#: letters, zero-width characters).
PRINTABLE_ASCII = r"[\x20-\x7e]"
#: Terraform's template openers. A config value containing one would be
#: evaluated by Terraform (file(), env access, ...) once written to cdk.tf.json.
TEMPLATE_OPENERS = ("${", "%{")

SafeText = Annotated[
    str,
    rule(
        # Printable ASCII where '$' and '%' are never followed by '{'.
        r"(?:[\x20-\x23\x26-\x7e]|[$%](?:[\x20-\x7a\x7c-\x7e]|$))*",
        "printable ASCII text without Terraform template syntax ('${' or '%{')",
        max_length=1024,
    ),
]


def template_syntax_in(value: str) -> str | None:
    """The first Terraform template opener in `value`, or None."""
    found = [opener for opener in TEMPLATE_OPENERS if opener in value]
    return found[0] if found else None


def unprintable_in(value: str) -> str | None:
    """The first character of `value` that is not printable ASCII, or None."""
    for char in value:
        if not " " <= char <= "~":
            return char
    return None


# --------------------------------------------------------------------------- names

_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"

DnsLabel = Annotated[
    str,
    rule(
        r"[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?",
        "a lowercase DNS label of at most 40 characters (letters, digits, '-'), "
        "starting with a letter and not ending with '-'",
    ),
]
KubernetesName = Annotated[
    str,
    rule(
        r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?",
        "a Kubernetes name (DNS-1123 label): at most 63 lowercase letters, digits and '-', "
        "starting and ending with a letter or digit",
    ),
]
#: A namespace or a family of them for the team's AppProject: a Kubernetes
#: name, or a name prefix ending in '*' (Argo CD's glob). Nothing else of
#: Argo CD's glob syntax ('?', '[...]', '{a,b}', '!'), so the config layer can
#: decide exactly which namespaces an entry allows.
NamespaceGlob = Annotated[
    str,
    rule(
        r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?|[a-z0-9][-a-z0-9]{0,61}\*",
        "a Kubernetes namespace name such as ml-sandbox, or a name prefix followed by '*' "
        "such as team-* (no other wildcard, no '!')",
    ),
]
DomainName = Annotated[
    str,
    rule(
        rf"(?:{_LABEL}\.)+[a-z]{{2,63}}",
        "a bare DNS name such as mlops.example.com, in lower case (no scheme, path, port "
        "or trailing dot)",
        max_length=200,
    ),
]
# Local part: the dot-atom characters people use, minus everything that has a
# meaning in CSV, YAML, shells or Terraform (quotes, commas, '$', '%', '{').
_EMAIL = rf"[a-z0-9](?:[a-z0-9._+-]{{0,63}})@(?:{_LABEL}\.)+[a-z]{{2,63}}"
Email = Annotated[
    str,
    rule(
        _EMAIL,
        "one lowercase email address such as admin@example.com (ASCII letters, digits, "
        "'.', '_', '+', '-'; write it in lower case, as Google reports it)",
        max_length=254,
    ),
]
IamMember = Annotated[
    str,
    rule(
        rf"(?:user|group|serviceAccount):{_EMAIL}|domain:(?:{_LABEL}\.)+[a-z]{{2,63}}",
        "an IAM member: user:, group: or serviceAccount: and one email address, or "
        "domain: and a DNS name, in lower case, such as group:ml-team@example.com",
        max_length=270,
    ),
]
ProjectId = Annotated[
    str,
    rule(
        r"[a-z][a-z0-9-]{4,28}[a-z0-9]",
        "a Google Cloud project id: 6-30 characters, lowercase letters, digits and "
        "hyphens, starting with a letter and not ending with a hyphen",
    ),
]
Region = Annotated[str, rule(r"[a-z]+-[a-z]+[0-9]+", "a Google Cloud region such as europe-west4")]
Zone = Annotated[
    str, rule(r"[a-z]+-[a-z]+[0-9]+-[a-z]", "a Google Cloud zone such as europe-west4-b")
]
#: At most 13 characters: <environment>-external-secrets is a service account
#: id, and those have at most 30.
Environment = Annotated[
    str,
    rule(
        r"[a-z](?:[a-z0-9-]{0,11}[a-z0-9])?",
        "1-13 lowercase letters, digits and hyphens, starting with a letter and not "
        "ending with a hyphen",
    ),
]
BucketName = Annotated[
    str,
    rule(
        r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]",
        "a GCS bucket name: 3-63 lowercase letters, digits, '-', '_' or '.', starting and "
        "ending with a letter or digit",
    ),
]
MachineType = Annotated[
    str,
    rule(r"[a-z][a-z0-9]*-[a-z0-9-]{1,60}", "a Compute Engine machine type such as e2-standard-4"),
]
GpuType = Annotated[
    str, rule(r"nvidia-[a-z0-9-]{1,40}", "a GPU type such as nvidia-l4 or nvidia-tesla-t4")
]
SqlTier = Annotated[str, rule(r"db-[a-z0-9-]{1,40}", "a Cloud SQL tier such as db-custom-1-3840")]
ChartVersion = Annotated[
    str,
    rule(
        r"[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}(?:-[0-9A-Za-z.-]{1,64})?",
        "an exact chart version such as 1.2.3 or 1.2.3-rc.1 (ranges are not pinned)",
    ),
]
ChartName = Annotated[
    str,
    rule(
        r"[a-z0-9][a-z0-9._-]{0,62}",
        "a chart name: lowercase letters, digits, '.', '_' and '-', at most 63 characters",
    ),
]
KubernetesQuantity = Annotated[
    str, rule(r"[1-9][0-9]{0,5}(?:Mi|Gi|Ti)", "a storage size such as 10Gi (Mi, Gi or Ti)")
]
ValuesFileName = Annotated[
    str,
    rule(
        r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}\.ya?ml",
        "a file name inside helm-values/ such as myapp.yaml (letters, digits, '.', '_', "
        "'-'; no directories)",
    ),
]
DnsZoneName = Annotated[
    str,
    rule(
        r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?",
        "a Cloud DNS managed zone name: lowercase letters, digits and '-', starting with a letter",
    ),
]
LabelKey = Annotated[
    str,
    rule(
        r"[a-z](?:[a-z0-9_-]{0,61}[a-z0-9])?",
        "a label key: at most 63 lowercase letters, digits, '_' and '-', starting with a "
        "letter and ending with a letter or digit (valid on Google resources and as a "
        "Kubernetes node label)",
    ),
]
LabelValue = Annotated[
    str,
    rule(
        r"(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)?",
        "a label value: empty, or at most 63 lowercase letters, digits, '_' and '-' that "
        "start and end with a letter or digit (valid on Google resources and as a "
        "Kubernetes node label)",
    ),
]

# --------------------------------------------------------------------------- git

#: A git branch, tag or commit: the characters ref names commonly use, no
#: '..', no leading '-' (it would read as an option) or '/'.
GitRevision = Annotated[
    str,
    rule(
        r"[A-Za-z0-9_](?:[A-Za-z0-9_+-]|[./][A-Za-z0-9_+-]){0,199}",
        "a branch, tag or commit such as main, v1.2.3 or release/2026-01 (letters, "
        "digits, '_', '+', '-', single '.' or '/' between them)",
    ),
]
#: A directory inside the repository: relative, no '..', no empty segments.
RepoPath = Annotated[
    str,
    rule(
        r"\.|[A-Za-z0-9_](?:[A-Za-z0-9_+-]|[./][A-Za-z0-9_+-]){0,199}",
        "a relative directory inside the repository such as apps or clusters/prod "
        "('.' for the root; no '..', no leading '/')",
    ),
]

#: What the URL checks in model.py accept in a URL's path.
URL_PATH_CHARS = re.compile(r"[A-Za-z0-9._~/+-]*")
