"""Every built-in Kubernetes object the platform writes is valid at every
Kubernetes version GKE's release channels can run.

The objects are the ones the synthesized stacks install through the manifests
chart (NetworkPolicies, the grant Job, ServiceAccounts, ConfigMaps, ...),
validated with kubernetes-validate's strict schemas (unknown fields are errors)
for each minor version. GKE's release notes (current versions table,
https://cloud.google.com/kubernetes-engine/docs/release-notes, read
2026-12-05): Rapid 1.34-1.37, Regular 1.34-1.36, Stable 1.34-1.35, Extended
1.31-1.36; the config accepts all four channels, hence 1.31-1.37.

Custom resources (Istio, External Secrets, Argo CD, GKE's) have no schema in
kubernetes-validate; their CRDs' schemas would have to be vendored from the
charts, which this repository cannot take (see the closing note of issue 19).
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.synth import Synthesized
from tests.support.variants import VARIANTS

#: Minor versions GKE's release channels offer (module docstring).
KUBERNETES_VERSIONS = tuple(f"1.{minor}.0" for minor in range(31, 38))
#: API groups of the built-in kinds (the rest are custom resources).
BUILT_IN_GROUPS = {"", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "policy"}


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def built_in_objects(synthesized: Synthesized, variant: str) -> list[dict[str, Any]]:
    """Objects of built-in kinds in every manifests-chart release of a variant."""
    found = []
    releases = synthesized.stack(variant, "bootstrap")["resource"]["helm_release"]
    for release in releases.values():
        for text in release.get("values", []):
            values = yaml.safe_load(text)
            if not isinstance(values, dict):
                continue
            for manifest in values.get("manifests") or []:
                if _group(manifest["apiVersion"]) in BUILT_IN_GROUPS:
                    found.append(manifest)
    return found


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_built_in_objects_are_valid(synthesized: Synthesized, variant: str, version: str) -> None:
    objects = built_in_objects(synthesized, variant)
    kinds = {obj["kind"] for obj in objects}
    assert {"NetworkPolicy"} <= kinds, kinds
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{obj['kind']} {obj['metadata'].get('name')}: {error.message}")
    assert problems == [], f"Kubernetes {version}:\n" + "\n".join(problems)


def test_the_validator_refuses_an_unknown_field() -> None:
    """strict=True: a misspelt field is an error, not ignored (as the API server's
    strict field validation would refuse it)."""
    spec: dict[str, Any] = {"podSelector": {}, "ingres": []}
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": spec,
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(policy, KUBERNETES_VERSIONS[-1], strict=True)
    del spec["ingres"]
    kubernetes_validate.validate(policy, KUBERNETES_VERSIONS[-1], strict=True)
