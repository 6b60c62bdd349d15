"""Kubernetes object names (RFC 1123 labels), as the API server checks them."""

from __future__ import annotations

import re

K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
