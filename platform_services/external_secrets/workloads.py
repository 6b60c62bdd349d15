"""External Secrets Operator's namespace and service account (plain data).

external-secrets 2.9.0: the controller runs as serviceAccount.name, which the
platform sets, annotated with its Google service account (Workload Identity).
"""

from __future__ import annotations

EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
EXTERNAL_SECRETS_SERVICE_ACCOUNT = "external-secrets"
#: Namespaces this service owns whatever the config says (reserved for it).
NAMESPACES = (EXTERNAL_SECRETS_NAMESPACE,)
