"""`network`: the VPC's address plan (private, disjoint IPv4 ranges)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, model_validator

from platform_config import types as t
from platform_config.base import StrictModel, field_error
from platform_config.yaml_reader import shown


def _check_cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(
            f"{shown(value)} is not an IPv4 CIDR block such as 10.10.0.0/20 ({err})"
        ) from None
    if not network.is_private:
        raise ValueError(f"{shown(value)} is not a private (RFC 1918) range")
    return value


Cidr = Annotated[
    str,
    t.rule(
        r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/[0-9]{1,2}",
        "a private IPv4 CIDR block such as 10.10.0.0/20",
    ),
    AfterValidator(_check_cidr),
]


def _at_least(prefix_length: int, why: str) -> AfterValidator:
    """A CIDR block of /<prefix_length> or larger (for a valid Cidr only)."""

    def check(value: str) -> str:
        network = ipaddress.IPv4Network(value)
        if network.prefixlen > prefix_length:
            raise ValueError(
                f"{value!r} is a /{network.prefixlen}: {why} needs a /{prefix_length} or "
                f"larger range (prefix length at most {prefix_length}, "
                f"such as {network.supernet(new_prefix=prefix_length)})"
            )
        return value

    return AfterValidator(check)


#: Private Services Access: Google allocates Cloud SQL's private IPs from this
#: peered range and requires at least a /24.
PrivateServicesCidr = Annotated[Cidr, _at_least(24, "Private Services Access (Cloud SQL)")]


class NetworkConfig(StrictModel):
    """Address plan of the VPC. The ranges must not overlap."""

    subnet_cidr: Cidr = "10.10.0.0/20"
    """Nodes and bastion; the only network authorized on the control plane."""
    pods_cidr: Cidr = "10.16.0.0/14"
    """Secondary range `pods`."""
    services_cidr: Cidr = "10.20.0.0/20"
    """Secondary range `services`."""
    private_services_cidr: PrivateServicesCidr = "10.30.0.0/20"
    """Peered range for Google-managed services (Cloud SQL private IP): a /24 or larger."""

    @model_validator(mode="after")
    def _ranges_do_not_overlap(self) -> NetworkConfig:
        ranges = {
            "subnet_cidr": self.subnet_cidr,
            "pods_cidr": self.pods_cidr,
            "services_cidr": self.services_cidr,
            "private_services_cidr": self.private_services_cidr,
        }
        names = list(ranges)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                a = ipaddress.IPv4Network(ranges[first])
                b = ipaddress.IPv4Network(ranges[second])
                if a.overlaps(b):
                    raise field_error(
                        second, f"{b} overlaps {first} {a}: the four ranges must be disjoint"
                    )
        return self
