"""WildcardCertificates: the door's certificates, from Certificate Manager.

Two Google-managed wildcard certificates with DNS authorization, on one
certificate map that the door's target HTTPS proxy carries:

- ``platform``: ``<domain>`` and ``*.<domain>`` (Argo CD, JupyterHub, MLflow and
  every app host, however many);
- ``users``: ``*.jupyterhub.<domain>``, the per-user JupyterHub hosts (a
  wildcard covers one label, so ``*.<domain>`` does not reach them), with a DNS
  authorization of its own (an authorization covers a domain and one wildcard
  level of it).

The set is fixed: adding an app changes no certificate, no authorization and
no map entry. DNS authorization (DNS-01) lets the certificates become ACTIVE
before any traffic reaches the load balancer, which is what makes a move from
the old door safe (README, "Moving to the Certificate Manager door").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_google.certificate_manager_certificate import (
    CertificateManagerCertificate,
)
from cdktf_cdktf_provider_google.certificate_manager_certificate_map import (
    CertificateManagerCertificateMap,
)
from cdktf_cdktf_provider_google.certificate_manager_certificate_map_entry import (
    CertificateManagerCertificateMapEntry,
)
from cdktf_cdktf_provider_google.certificate_manager_dns_authorization import (
    CertificateManagerDnsAuthorization,
)
from constructs import Construct

#: PER_PROJECT_RECORD: the CNAME differs per project, so a staging and a
#: production project can authorize the same domain. Changing the type later
#: replaces the authorization (and its record), so it is set from day one.
AUTHORIZATION_TYPE = "PER_PROJECT_RECORD"
#: What a target HTTPS proxy's certificate_map takes (provider 6.50.0).
CERTIFICATE_MAP_PREFIX = "//certificatemanager.googleapis.com/"


@dataclass(frozen=True, kw_only=True)
class DnsRecord:
    """One DNS record (values may be Terraform references)."""

    name: str
    type: str
    data: str

    def zone_line(self, ttl: int) -> str:
        return f"{self.name} {ttl} IN {self.type} {self.data}"


@dataclass(frozen=True, kw_only=True)
class WildcardCertificatesProps:
    domain: str
    """The platform's domain: hosts are <label>.<domain>."""
    user_domain: str
    """The per-user hosts' parent (jupyterhub.<domain>): certificate *.<user_domain>."""
    names: dict[str, str]
    """Suffix -> Google name: "" (the map), apex, jupyterhub (authorizations),
    platform, users (certificates)."""
    depends_on: Sequence[ITerraformDependable] = ()
    """The Certificate Manager API."""


class WildcardCertificates(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: WildcardCertificatesProps) -> None:
        super().__init__(scope, id_)
        _validate(props)
        depends = list(props.depends_on)
        names = props.names
        self.authorizations = {
            key: CertificateManagerDnsAuthorization(
                self,
                f"authorization-{key}",
                name=names[key],
                domain=domain,
                type=AUTHORIZATION_TYPE,
                description=f"DNS-01 for {domain} and *.{domain}",
                depends_on=depends,
            )
            for key, domain in (("apex", props.domain), ("jupyterhub", props.user_domain))
        }
        self.certificates = {
            "platform": self._certificate(
                "platform", names, [props.domain, f"*.{props.domain}"], "apex", depends
            ),
            "users": self._certificate(
                "users", names, [f"*.{props.user_domain}"], "jupyterhub", depends
            ),
        }
        self.map = CertificateManagerCertificateMap(
            self,
            "map",
            name=names[""],
            description="The door's certificates (target HTTPS proxy)",
            depends_on=depends,
        )
        self.entries = [
            self._entry(key, certificate, hostname=hostname)
            for key, certificate, hostname in (
                ("apex", "platform", props.domain),
                ("wildcard", "platform", f"*.{props.domain}"),
                ("users", "users", f"*.{props.user_domain}"),
            )
        ]
        # Served when the client sends no SNI, or a name the map lacks.
        self.entries.append(self._entry("primary", "platform", matcher="PRIMARY"))
        #: For the target HTTPS proxy's certificate_map.
        self.map_reference = f"{CERTIFICATE_MAP_PREFIX}{self.map.id}"
        #: The CNAME of each DNS authorization (known once it is created).
        self.authorization_records = [
            DnsRecord(
                name=auth.dns_resource_record.get(0).name,
                type=auth.dns_resource_record.get(0).type,
                data=auth.dns_resource_record.get(0).data,
            )
            for auth in self.authorizations.values()
        ]

    def _certificate(
        self,
        key: str,
        names: dict[str, str],
        domains: list[str],
        authorization: str,
        depends: list[ITerraformDependable],
    ) -> CertificateManagerCertificate:
        return CertificateManagerCertificate(
            self,
            f"certificate-{key}",
            name=names[key],
            description=f"Google-managed, DNS-authorized: {', '.join(domains)}",
            scope="DEFAULT",
            managed={
                "domains": domains,
                "dns_authorizations": [self.authorizations[authorization].id],
            },
            depends_on=depends,
        )

    def _entry(
        self,
        key: str,
        certificate: str,
        *,
        hostname: str | None = None,
        matcher: str | None = None,
    ) -> CertificateManagerCertificateMapEntry:
        return CertificateManagerCertificateMapEntry(
            self,
            f"entry-{key}",
            name=f"{self.map.name}-{key}",
            map=self.map.name,
            certificates=[self.certificates[certificate].id],
            hostname=hostname,
            matcher=matcher,
        )


def _validate(props: WildcardCertificatesProps) -> None:
    if "*" in props.domain or "*" in props.user_domain:
        raise ValueError("WildcardCertificates: domains are given without wildcards")
    if not props.user_domain.endswith(f".{props.domain}"):
        raise ValueError(
            f"WildcardCertificates: {props.user_domain!r} is not under {props.domain!r}"
        )
    missing = {"", "apex", "jupyterhub", "platform", "users"} - set(props.names)
    if missing:
        raise ValueError(f"WildcardCertificates: names missing for {sorted(missing)}")
