"""Rules across sections of the config: each reads a validated PlatformConfig and
yields (field path, problem) for everything it finds wrong.

PlatformConfig's validator runs them all (`cross_field_problems`); the loader
also runs them on a config whose other sections failed validation, skipping a
rule that reads a section that is not there (see loader.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import TypeAdapter, ValidationError

from platform_config.names import (
    MAX_CERTIFICATE_DOMAIN_LENGTH,
    name_problems,
)
from platform_config.reserved import (
    RESERVED_HOSTS,
    RESERVED_NAMESPACE_PREFIXES,
    RESERVED_NAMESPACES,
    namespace_glob_clash,
)
from platform_config.teams import team_namespaces

if TYPE_CHECKING:
    from platform_config.model import PlatformConfig

Problems = Iterator[tuple[str, str]]


def bastion_has_members(config: PlatformConfig) -> Problems:
    if config.cluster.control_plane_access == "bastion" and not config.access.bastion_members:
        yield (
            "access.bastion_members",
            "is empty but cluster.control_plane_access is bastion: list who may "
            "open the IAP tunnel (user:/group:/serviceAccount: members)",
        )


def _member_domain(member: str) -> str | None:
    """The DNS domain an IAP member signs in from; None for a service account.

    Service accounts are exempt: they never sign in through a browser (the only
    use of the Google-managed OAuth client), and every project's service
    accounts share the domain iam.gserviceaccount.com, so a domain says nothing
    about their organization.
    """
    kind, _, identity = member.partition(":")
    if kind == "serviceAccount":
        return None
    return identity if kind == "domain" else identity.rpartition("@")[2]


def iap_members_in_organization(config: PlatformConfig) -> Problems:
    """IAP's Google-managed OAuth client admits only the organization's accounts
    (FIELD-NOTES, Front door): a member from elsewhere could never get through."""
    access = config.access
    domains = {m: d for m in access.iap_members if (d := _member_domain(m)) is not None}
    if not domains:
        return
    listed = set(access.organization_domains)
    if not listed:
        needed = ", ".join(sorted(set(domains.values())))
        yield (
            "access.organization_domains",
            "is not set, so the user:/group:/domain: members of access.iap_members cannot "
            "be checked: IAP's Google-managed OAuth client admits only accounts of the "
            "project's organization. List the organization's domains; if the members' "
            f"domains belong to it, add `organization_domains: [{needed}]` under access",
        )
        return
    for i, member in enumerate(access.iap_members):
        domain = domains.get(member)
        if domain is None or domain in listed:
            continue
        yield (
            f"access.iap_members[{i}]",
            f"{member!r} is in the domain {domain!r}, which is not in "
            f"access.organization_domains ({', '.join(sorted(listed))}). IAP's Google-managed "
            "OAuth client admits only accounts of the project's organization, so this member "
            f"could never sign in: if {domain} belongs to the organization, add it to "
            "access.organization_domains; otherwise use an account of the organization "
            "(an external account cannot pass the Google-managed client)",
        )


def bastion_zone_in_region(config: PlatformConfig) -> Problems:
    zone = config.cluster.bastion.zone
    if zone is not None and not zone.startswith(f"{config.region}-"):
        yield (
            "cluster.bastion.zone",
            f"{zone!r} is not in region {config.region!r}: use a zone such as {config.region}-b",
        )


def app_hosts_and_namespaces(config: PlatformConfig) -> Problems:
    """Each enabled app has a host and a namespace of its own, none the platform's."""
    hosts: dict[str, str] = {}
    namespaces: dict[str, str] = {}
    for name, app in config.apps.enabled().items():
        host = app.host or name
        where = "host" if app.host else "host (the app's name)"
        if host in RESERVED_HOSTS:
            yield f"apps.{name}.host", f"{where} {host!r} is reserved for the platform"
        elif host in hosts:
            yield f"apps.{name}.host", f"{where} {host!r} is already used by apps.{hosts[host]}"
        hosts.setdefault(host, name)
        namespace = app.namespace or name
        where = "namespace" if app.namespace else "namespace (the app's name)"
        if namespace in RESERVED_NAMESPACES or namespace.startswith(RESERVED_NAMESPACE_PREFIXES):
            yield (
                f"apps.{name}.namespace",
                f"{where} {namespace!r} is reserved (Kubernetes, GKE or the platform: "
                f"{', '.join(sorted(RESERVED_NAMESPACES))}, "
                f"{', '.join(p + '*' for p in RESERVED_NAMESPACE_PREFIXES)}); "
                "set apps.<name>.namespace to a namespace of its own",
            )
        elif namespace in namespaces:
            yield (
                f"apps.{name}.namespace",
                f"{where} {namespace!r} is already used by apps.{namespaces[namespace]}: "
                "each app gets a namespace of its own",
            )
        namespaces.setdefault(namespace, name)


def gitops_lane(config: PlatformConfig) -> Problems:
    """The team's namespaces (the AppProject's destinations) reach no namespace
    of Kubernetes, of the platform or of an app (docs/architecture.md)."""
    entries = [
        ("gitops.applications_namespace", config.gitops.applications_namespace),
        *((f"gitops.namespaces[{i}]", glob) for i, glob in enumerate(config.gitops.namespaces)),
    ]
    for path, glob in entries:
        clash = namespace_glob_clash(glob, config.platform_namespaces)
        if clash is not None:
            yield (
                path,
                f"{glob!r} would let the team's Applications into {clash}, which belongs "
                "to Kubernetes or the platform: name namespaces of the team's own "
                "(e.g. team-ml)",
            )


def team_lanes(config: PlatformConfig) -> Problems:
    """Each team's namespaces are its own: no platform, app or `gitops` lane
    namespace, and no other team's."""
    owner = {
        namespace: "the gitops lane"
        for namespace in [config.gitops.applications_namespace, *config.gitops.namespaces]
    }
    for team, team_config in config.teams.items():
        for namespace in team_namespaces(team, team_config):
            path = f"teams.{team}.namespaces"
            clash = namespace_glob_clash(namespace, config.platform_namespaces)
            if clash is not None:
                yield (
                    path,
                    f"{namespace!r} is {clash}, which belongs to Kubernetes or the platform",
                )
            elif namespace in owner:
                yield (path, f"{namespace!r} already belongs to {owner[namespace]}")
            owner.setdefault(namespace, f"team {team}")


def certificate_domain_lengths(config: PlatformConfig) -> Problems:
    """The wildcard certificates' domains fit (their number never grows with the apps)."""
    for domain in config.certificate_domains:
        if len(domain) > MAX_CERTIFICATE_DOMAIN_LENGTH:
            yield (
                "domain",
                f"makes the certificate domain {domain!r} ({len(domain)} characters); "
                f"a certificate's domain has at most {MAX_CERTIFICATE_DOMAIN_LENGTH}",
            )
            return


def pool_zones_in_region(config: PlatformConfig) -> Problems:
    for i, pool in enumerate(config.cluster.node_pools):
        for j, zone in enumerate(pool.zones or []):
            if not zone.startswith(f"{config.region}-"):
                yield (
                    f"cluster.node_pools[{i}].zones[{j}]",
                    f"{zone!r} is not in region {config.region}: expected a zone such as "
                    f"{config.region}-a (the cluster and its nodes are in the region)",
                )


#: In the order the problems are reported.
CROSS_FIELD_RULES: tuple[Callable[[PlatformConfig], Problems], ...] = (
    bastion_has_members,
    iap_members_in_organization,
    bastion_zone_in_region,
    app_hosts_and_namespaces,
    gitops_lane,
    team_lanes,
    name_problems,
    certificate_domain_lengths,
    pool_zones_in_region,
)


def cross_field_problems(config: PlatformConfig) -> list[tuple[str, str]]:
    """Every problem every rule finds, in rule order."""
    return [problem for rule in CROSS_FIELD_RULES for problem in rule(config)]


@functools.cache
def _field_adapter(name: str) -> TypeAdapter[Any]:
    from platform_config.model import PlatformConfig

    info = PlatformConfig.model_fields[name]
    annotation: Any = info.annotation
    if info.metadata:  # the field's constraints (max_length, AfterValidator, ...)
        annotation = Annotated[(annotation, *info.metadata)]
    return TypeAdapter(annotation)


def problems_of_valid_sections(data: dict[str, Any], invalid: set[str]) -> list[tuple[str, str]]:
    """The rules' problems on a config whose `invalid` top-level fields failed.

    The other fields passed validation, so validating each again alone gives
    its value; a config is assembled from them without the invalid ones, and
    each rule that reads an absent field (AttributeError) is skipped: it would
    only guess. An error not located at a field ("" in `invalid`) skips them all.
    """
    from platform_config.model import PlatformConfig

    if "" in invalid:
        return []
    values: dict[str, Any] = {}
    for name in PlatformConfig.model_fields:
        if name in data and name not in invalid:
            try:
                values[name] = _field_adapter(name).validate_python(data[name])
            except ValidationError:
                invalid.add(name)
    config = PlatformConfig.model_construct(**values)
    for name in invalid:
        config.__dict__.pop(name, None)  # not its default: the file's value is wrong
    problems: list[tuple[str, str]] = []
    for rule in CROSS_FIELD_RULES:
        try:
            problems += list(rule(config))
        except AttributeError:
            continue
    return problems
