"""IngressDns: the door's DNS records, or what to create by hand.

The apex A record and the wildcard CNAME; the per-user hosts' parent
(jupyterhub.<domain>) and its wildcard; the CNAME of each certificate's DNS
authorization. The parent needs records of its own: the authorization's
_acme-challenge name under it makes jupyterhub.<domain> an existing (empty)
name, and a wildcard never answers for an existing name or below it (RFC 4592).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformOutput
from cdktf_cdktf_provider_google.data_google_dns_managed_zone import DataGoogleDnsManagedZone
from cdktf_cdktf_provider_google.dns_record_set import DnsRecordSet
from constructs import Construct

from platform_constructs.wildcard_certificates import DnsRecord


@dataclass(frozen=True, kw_only=True)
class IngressDnsProps:
    domain: str
    ip_address: str
    user_domain: str
    """jupyterhub.<domain>: it and *.<user_domain> point at the apex too."""
    authorization_records: Sequence[DnsRecord] = ()
    """The certificates' DNS authorization CNAMEs."""
    managed_zone: str | None = None
    """Cloud DNS zone serving `domain`; None prints the records instead."""
    ttl: int = 300


class IngressDns(Construct):
    """Points <domain>, *.<domain> and the per-user hosts at the ingress IP.

    The certificates become ACTIVE once their authorization CNAMEs resolve
    (wherever the A records point), so the output spells every record out when
    Terraform cannot create them itself.
    """

    def __init__(self, scope: Construct, id_: str, *, props: IngressDnsProps) -> None:
        super().__init__(scope, id_)
        if not 30 <= props.ttl <= 86400:
            raise ValueError("IngressDns: ttl must be between 30 and 86400 seconds")
        fqdn = f"{props.domain}."
        records = [
            DnsRecord(name=fqdn, type="A", data=props.ip_address),
            DnsRecord(name=f"*.{fqdn}", type="CNAME", data=fqdn),
            DnsRecord(name=f"{props.user_domain}.", type="CNAME", data=fqdn),
            DnsRecord(name=f"*.{props.user_domain}.", type="CNAME", data=fqdn),
        ]
        ids = ["apex", "wildcard", "user-parent", "user-wildcard"]
        for index, record in enumerate(props.authorization_records):
            records.append(record)
            ids.append(f"authorization-{index}")
        lines = [record.zone_line(props.ttl) for record in records]
        #: Records for the operator to create when no managed zone is set.
        self.records_to_create = [] if props.managed_zone else list(lines)
        if props.managed_zone:
            zone = DataGoogleDnsManagedZone(self, "zone", name=props.managed_zone)
            for record_id, record in zip(ids, records, strict=True):
                DnsRecordSet(
                    self,
                    record_id,
                    managed_zone=zone.name,
                    name=record.name,
                    type=record.type,
                    ttl=props.ttl,
                    rrdatas=[record.data],
                )
            description = f"Records created in Cloud DNS zone {props.managed_zone}."
        else:
            description = "Create these records at your DNS provider (no dns.managed_zone set)."
        self.records_output = TerraformOutput(
            self, "dns_records", value=lines, description=description, static_id=True
        )
