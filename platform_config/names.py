"""Every name the stacks derive from the config, and Google's rules for each.

Computed in the config layer and checked as is: nothing is shortened later, so
a config that check-config accepts synthesizes with exactly these names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from platform_config.yaml_reader import shown

if TYPE_CHECKING:
    from platform_config.model import PlatformConfig

#: A certificate's domains (<domain>, *.<domain>, *.jupyterhub.<domain>) have at
#: most 63 characters: a public CA's subject common name holds 64 (RFC 5280
#: ub-common-name), and which domain Google puts there is not documented.
MAX_CERTIFICATE_DOMAIN_LENGTH = 63
#: The JupyterHub host; its per-user hosts (issue 20 item 3) sit under it and
#: need a wildcard certificate of their own (*.<domain> covers one label only).
JUPYTERHUB_LABEL = "jupyterhub"
#: GKE cluster names (<cluster.name>-<environment>-gke) have at most 40 characters.
MAX_GKE_CLUSTER_NAME = 40
#: GCS bucket names (MLflow's <project_id>-<environment>-mlflow-artifacts): at most 63.
MAX_BUCKET_NAME = 63

#: Service account ids: 6-30 characters, lowercase letters, digits and '-'.
SERVICE_ACCOUNT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
#: Compute Engine / Cloud SQL resource names.
GCE_NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
#: Secret Manager secret ids.
SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
#: GCS bucket names; Google also refuses names that start with "goog" or
#: contain "google" (checked separately: no look-ahead in schema patterns).
GCS_BUCKET = re.compile(r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]")


def not_google(value: str) -> str:
    """AfterValidator of bucket names: GCS refuses goog* and *google*."""
    if value.startswith("goog") or "google" in value:
        raise ValueError(
            f"{shown(value)}: GCS refuses bucket names that start with 'goog' or contain 'google'"
        )
    return value


@dataclass(frozen=True, kw_only=True)
class DerivedName:
    """A name the stacks use, computed from config fields, with its rule."""

    value: str
    rule: re.Pattern[str]
    max_length: int
    what: str
    """What it names and which rule applies, for the error message."""
    field: str
    """The config field to shorten when the name does not fit."""


@dataclass(frozen=True, kw_only=True)
class PlatformNames:
    """Every generated resource name, computed once (stacks never derive names)."""

    gke_cluster: str
    vpc: str
    ingress_ip: str
    door: str
    """Prefix of the door's load balancer and Certificate Manager objects."""
    gateway_neg: str
    """The Istio gateway Service's standalone NEG (one per zone, same name)."""
    health_check_firewall: str
    private_services: str
    webhook_firewall: str
    node_service_account: str
    bastion: str
    """The bastion VM and its service account id (bastion mode)."""
    external_secrets_service_account: str
    mlflow: str
    """MLflow's service account id and its Cloud SQL instance."""
    mlflow_bucket: str
    repo_credentials_secret: str
    oidc_client_secret: str


def platform_names(config: PlatformConfig) -> PlatformNames:
    """Every generated name of `config` (validated by `name_problems`)."""
    gke = config.name("gke")
    env = config.environment
    return PlatformNames(
        gke_cluster=gke,
        vpc=config.name("vpc"),
        ingress_ip=config.name("ingress"),
        door=config.name("door"),
        gateway_neg=config.name("gateway"),
        health_check_firewall=f"{gke}-allow-health-checks",
        private_services=config.name("private-services"),
        webhook_firewall=f"{gke}-allow-control-plane-webhooks",
        node_service_account=f"{gke}-nodes",
        bastion=f"{gke}-bastion",
        external_secrets_service_account=f"{env}-external-secrets",
        mlflow=f"{env}-mlflow",
        mlflow_bucket=config.mlflow_bucket_name,
        repo_credentials_secret=f"{env}-argocd-repo-credentials",
        oidc_client_secret=f"{env}-argocd-oidc-client",
    )


#: The door's objects: <door>-<suffix>, the certificate map <door> itself.
DOOR_SUFFIXES = (
    "apex",
    "jupyterhub",
    "platform",
    "users",
    "health-check",
    "backend",
    "ssl-policy",
    "url-map",
    "https-proxy",
    "https",
    "redirect-url-map",
    "http-proxy",
    "http",
)


def door_names(names: PlatformNames) -> dict[str, str]:
    """suffix -> name of each door object (and "" -> the certificate map)."""
    return {"": names.door, **{suffix: f"{names.door}-{suffix}" for suffix in DOOR_SUFFIXES}}


def _checked(
    value: str, rule: re.Pattern[str], max_length: int, what: str, field: str
) -> DerivedName:
    return DerivedName(value=value, rule=rule, max_length=max_length, what=what, field=field)


def derived_names(config: PlatformConfig) -> list[DerivedName]:
    """The names with a Google rule, each with the field that makes it."""
    names = config.names
    checked = [
        _checked(
            names.gke_cluster,
            GCE_NAME,
            MAX_GKE_CLUSTER_NAME,
            "the GKE cluster name",
            "cluster.name",
        ),
        _checked(
            names.node_service_account,
            SERVICE_ACCOUNT_ID,
            30,
            "the node service account id",
            "cluster.name",
        ),
        _checked(
            names.webhook_firewall, GCE_NAME, 63, "the webhook firewall rule name", "cluster.name"
        ),
        *(
            _checked(name, GCE_NAME, 63, "a load balancer or certificate name", "cluster.name")
            for name in (
                *door_names(names).values(),
                names.gateway_neg,
                names.health_check_firewall,
            )
        ),
        _checked(
            names.external_secrets_service_account,
            SERVICE_ACCOUNT_ID,
            30,
            "the External Secrets service account id",
            "environment",
        ),
        _checked(
            names.repo_credentials_secret,
            SECRET_ID,
            255,
            "a Secret Manager secret id",
            "environment",
        ),
    ]
    if config.bastion_mode:
        checked.append(
            _checked(
                names.bastion,
                SERVICE_ACCOUNT_ID,
                30,
                "the bastion's service account id",
                "cluster.name",
            )
        )
    if config.apps.mlflow.enabled:
        checked += [
            _checked(
                names.mlflow,
                SERVICE_ACCOUNT_ID,
                30,
                "MLflow's service account id and Cloud SQL instance",
                "environment",
            ),
            _checked(
                names.mlflow_bucket,
                GCS_BUCKET,
                MAX_BUCKET_NAME,
                "MLflow's artifact bucket name",
                "environment",
            ),
        ]
    return checked


def name_problems(config: PlatformConfig) -> Iterator[tuple[str, str]]:
    """(field, problem) for each derived name that breaks its rule as is: nothing
    is truncated later. One problem per name, the first rule it breaks."""
    for name in derived_names(config):
        together = "cluster.name and environment" if name.field == "cluster.name" else "environment"
        excess = len(name.value) - name.max_length
        if excess > 0:
            yield (
                name.field,
                f"makes {name.what} {name.value!r} {len(name.value)} characters long; "
                f"Google allows at most {name.max_length}: shorten {together} by "
                f"{excess} characters",
            )
        elif name.rule is GCS_BUCKET and (name.value.startswith("goog") or "google" in name.value):
            yield (
                "project_id",
                f"makes {name.what} {name.value!r}, which GCS refuses (it contains "
                "'google' or starts with 'goog'): MLflow's bucket cannot be created",
            )
        elif not name.rule.fullmatch(name.value):
            yield (
                name.field,
                f"makes {name.what} {name.value!r}, which is not a valid name "
                f"(pattern {name.rule.pattern}): change {together}",
            )
