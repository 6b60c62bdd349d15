"""ManagedCertificate: one host's Google-managed certificate, as a GKE ManagedCertificate.

One object per host, each in its own release, with a name that depends on the
host only: adding or removing an app creates or deletes that host's
certificate and leaves every other one as it is (the first version held all
hosts in one certificate whose name changed with the app list, and renaming
it broke the live load balancer: terraform-provider-google#8160).

GKE's managed-certificates controller makes the Google-managed SslCertificate
and attaches it to the Ingress that lists the object in its
`networking.gke.io/managed-certificates` annotation; when the object goes, the
controller detaches the certificate before deleting it, and retries until the
load balancer lets go. The CRD (networking.gke.io/v1) exists as soon as the
cluster does, so the release needs only its namespace.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_helm.provider import HelmProvider
from constructs import Construct

from platform_builders.naming import slug
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps

#: The ManagedCertificate CRD's limit on a domain (spec.domains[].maxLength).
MAX_DOMAIN_LENGTH = 63
#: What the CRD accepts as a domain (spec.domains[].pattern): no wildcards.
DOMAIN_NAME = re.compile(r"(([a-z0-9]+|[a-z0-9][-a-z0-9]*[a-z0-9])\.)+[a-z][-a-z0-9]*[a-z0-9]")
#: Helm release names have at most 53 characters.
MAX_RELEASE_NAME = 53


def certificate_release_name(domain: str) -> str:
    """`cert-<readable part>-<hash of the domain>`: unique per domain, at most 53 characters.

    The hash keeps two domains that slug alike (a-b.x.com, a.b.x.com) apart.
    """
    digest = hashlib.sha256(domain.encode()).hexdigest()[:8]
    readable = slug(domain)[: MAX_RELEASE_NAME - len("cert--") - len(digest)].strip("-")
    return f"cert-{readable}-{digest}"


@dataclass(frozen=True, kw_only=True)
class ManagedCertificateProps:
    domain: str
    """The one host this certificate covers (lowercase, no wildcard, <= 63 characters)."""
    namespace: str
    """The Ingress's namespace: an Ingress only lists certificates of its own namespace."""
    provider: HelmProvider
    depends_on: Sequence[ITerraformDependable] = ()
    """Anything else that must exist first (the namespace is best passed as a reference)."""


class ManagedCertificate(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: ManagedCertificateProps) -> None:
        super().__init__(scope, id_)
        domain = props.domain
        if "*" in domain:
            raise ValueError(
                f"ManagedCertificate: Google-managed certificates take no wildcards: {domain!r}"
            )
        if not DOMAIN_NAME.fullmatch(domain):
            raise ValueError(f"ManagedCertificate: not a lowercase DNS name: {domain!r}")
        if len(domain) > MAX_DOMAIN_LENGTH:
            raise ValueError(
                f"ManagedCertificate: {domain!r} has {len(domain)} characters; a managed "
                f"certificate's domain has at most {MAX_DOMAIN_LENGTH}"
            )
        if not props.namespace:
            raise ValueError("ManagedCertificate: no namespace")
        #: The object's name, as the Ingress annotation lists it: the host itself.
        self.name = domain
        self.domain = domain
        self.manifest = {
            "apiVersion": "networking.gke.io/v1",
            "kind": "ManagedCertificate",
            "metadata": {"name": self.name, "namespace": props.namespace},
            "spec": {"domains": [domain]},
        }
        self.bundle = ManifestBundle(
            self,
            "object",
            props=ManifestBundleProps(
                release_name=certificate_release_name(domain),
                namespace=props.namespace,
                manifests=[self.manifest],
                provider=props.provider,
                depends_on=props.depends_on,
            ),
        )
        self.release = self.bundle.release
