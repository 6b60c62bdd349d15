"""Argo CD RBAC, evaluated the way Argo CD 3.4.4 evaluates it (see
tests/services/argocd/test_argocd_rbac.py for what is ported from where)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import casbin
import yaml

from tests.support.argocd import policy_lines

FIXTURES = Path(__file__).resolve().parent.parent / "services" / "argocd" / "fixtures"


class ArgoCdRbac:
    def __init__(self, rbac: Mapping[str, str]) -> None:
        self.enforcer = casbin.Enforcer(str(FIXTURES / "model.conf"))
        self.enforcer.add_function("globOrRegexMatch", fnmatch.fnmatchcase)
        builtin = (FIXTURES / "builtin-policy.csv").read_text()
        for tokens in policy_lines(builtin) + policy_lines(rbac.get("policy.csv", "")):
            if tokens[0] == "p":
                self.enforcer.add_policy(*tokens[1:])
            else:
                self.enforcer.add_grouping_policy(*tokens[1:])
        self.default_role = rbac.get("policy.default", "")
        self.scopes = yaml.safe_load(rbac.get("scopes") or "[groups]")

    def allows(self, claims: Mapping[str, Any], resource: str, action: str, obj: str) -> bool:
        if self.default_role and self.enforcer.enforce(self.default_role, resource, action, obj):
            return True
        federated = claims.get("federated_claims") or {}
        subject = federated.get("user_id") or claims.get("sub", "")
        if self.enforcer.enforce(subject, resource, action, obj):
            return True
        for scope in self.scopes:
            values = claims.get(scope) or []
            for group in [values] if isinstance(values, str) else values:
                if self.enforcer.enforce(group, resource, action, obj):
                    return True
        return False

    def admins(self) -> set[str]:
        return {
            subject
            for subject, role in self.enforcer.get_grouping_policy()
            if role == "role:admin" and not subject.startswith("role:")
        }
