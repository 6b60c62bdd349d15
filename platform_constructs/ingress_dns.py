"""IngressDns: the apex A record and wildcard CNAME, or what to create by hand."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformOutput
from cdktf_cdktf_provider_google.data_google_dns_managed_zone import DataGoogleDnsManagedZone
from cdktf_cdktf_provider_google.dns_record_set import DnsRecordSet
from constructs import Construct


@dataclass(frozen=True, kw_only=True)
class IngressDnsProps:
    domain: str
    ip_address: str
    managed_zone: str | None = None
    """Cloud DNS zone serving `domain`; None prints the records instead."""
    ttl: int = 300


class IngressDns(Construct):
    """Points <domain> and *.<domain> at the ingress IP.

    The managed certificate only becomes ACTIVE once these records resolve to
    the load balancer, so the output spells them out when Terraform cannot
    create them itself.
    """

    def __init__(self, scope: Construct, id_: str, *, props: IngressDnsProps) -> None:
        super().__init__(scope, id_)
        if not 30 <= props.ttl <= 86400:
            raise ValueError("IngressDns: ttl must be between 30 and 86400 seconds")
        fqdn = f"{props.domain}."
        records = [
            f"{fqdn} {props.ttl} IN A {props.ip_address}",
            f"*.{fqdn} {props.ttl} IN CNAME {fqdn}",
        ]
        #: Records for the operator to create when no managed zone is set.
        self.records_to_create = [] if props.managed_zone else list(records)
        if props.managed_zone:
            zone = DataGoogleDnsManagedZone(self, "zone", name=props.managed_zone)
            DnsRecordSet(
                self,
                "apex",
                managed_zone=zone.name,
                name=fqdn,
                type="A",
                ttl=props.ttl,
                rrdatas=[props.ip_address],
            )
            DnsRecordSet(
                self,
                "wildcard",
                managed_zone=zone.name,
                name=f"*.{fqdn}",
                type="CNAME",
                ttl=props.ttl,
                rrdatas=[fqdn],
            )
            description = f"Records created in Cloud DNS zone {props.managed_zone}."
        else:
            description = "Create these records at your DNS provider (no dns.managed_zone set)."
        self.records_output = TerraformOutput(
            self, "dns_records", value=records, description=description, static_id=True
        )
