"""ManagedCertificate: a Google-managed certificate that can change safely.

The name carries a short hash of the domain list and the resource is created
before the old one is destroyed: adding an app makes a new certificate next to
the live one instead of deleting the certificate the load balancer serves.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_google.compute_managed_ssl_certificate import (
    ComputeManagedSslCertificate,
)
from constructs import Construct

MAX_DOMAINS = 100  # Google's limit for one managed certificate
DOMAIN_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+")


@dataclass(frozen=True, kw_only=True)
class ManagedCertificateProps:
    name_prefix: str
    domains: Sequence[str]


class ManagedCertificate(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: ManagedCertificateProps) -> None:
        super().__init__(scope, id_)
        domains = list(props.domains)
        if not domains:
            raise ValueError("ManagedCertificate: no domains")
        if len(domains) > MAX_DOMAINS:
            raise ValueError(
                f"ManagedCertificate: {len(domains)} domains; Google allows at most {MAX_DOMAINS}"
            )
        duplicates = sorted({d for d in domains if domains.count(d) > 1})
        if duplicates:
            raise ValueError(f"ManagedCertificate: duplicate domains {', '.join(duplicates)}")
        wildcards = [d for d in domains if "*" in d]
        if wildcards:
            raise ValueError(
                f"ManagedCertificate: Google-managed certificates take no wildcards: {wildcards}"
            )
        not_names = [d for d in domains if not DOMAIN_NAME.fullmatch(d)]
        if not_names:
            raise ValueError(
                f"ManagedCertificate: not lowercase DNS names: {', '.join(map(repr, not_names))}"
            )
        if not re.fullmatch(r"[a-z]([-a-z0-9]{0,53})", props.name_prefix):
            raise ValueError(f"ManagedCertificate: invalid name_prefix {props.name_prefix!r}")
        digest = hashlib.sha256("\n".join(sorted(domains)).encode()).hexdigest()[:8]
        self.name = f"{props.name_prefix}-{digest}"
        self.domains = domains
        self.certificate = ComputeManagedSslCertificate(
            self,
            "certificate",
            name=self.name,
            type="MANAGED",
            managed={"domains": domains},
            lifecycle={"create_before_destroy": True},
        )
