"""ManifestBundle: custom resources installed as one Helm release, in order.

Why not kubernetes_manifest: it needs the CRD at PLAN time, and on a fresh
cluster the CRD arrives with a helm_release of the same deploy. Why not the
operator chart's extraObjects: Helm cannot install a CR in the release that
templates its CRD. A release of the small local chart in charts/manifests,
depending on the operator's release, installs at APPLY time, after the CRD
and the operator's webhook exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdktf import AssetType, ITerraformDependable, TerraformAsset
from cdktf_cdktf_provider_helm.provider import HelmProvider
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

from platform_constructs.helm_values import to_values_yaml

MANIFESTS_CHART_DIR = Path(__file__).resolve().parent.parent / "charts" / "manifests"


@dataclass(frozen=True, kw_only=True)
class ManifestBundleProps:
    release_name: str
    namespace: str
    """Where Helm keeps the release record; objects carry their own namespace."""
    manifests: Sequence[Mapping[str, Any]]
    provider: HelmProvider
    depends_on: Sequence[ITerraformDependable]
    """The releases that install the CRDs and webhooks these objects need."""


class ManifestBundle(Construct):
    def __init__(self, scope: Construct, id_: str, *, props: ManifestBundleProps) -> None:
        super().__init__(scope, id_)
        if not props.manifests:
            raise ValueError(f"ManifestBundle {props.release_name}: no manifests")
        seen: set[tuple[str, str, str]] = set()
        for manifest in props.manifests:
            metadata = manifest.get("metadata") or {}
            key = (
                str(manifest.get("kind")),
                str(metadata.get("namespace", "")),
                str(metadata.get("name")),
            )
            if (
                not manifest.get("apiVersion")
                or not manifest.get("kind")
                or not metadata.get("name")
            ):
                raise ValueError(
                    f"ManifestBundle {props.release_name}: every manifest needs apiVersion, "
                    f"kind and metadata.name, got {key}"
                )
            if key in seen:
                raise ValueError(f"ManifestBundle {props.release_name}: duplicate object {key}")
            seen.add(key)
        self.manifests = [dict(m) for m in props.manifests]
        chart = TerraformAsset(
            self, "chart", path=str(MANIFESTS_CHART_DIR), type=AssetType.DIRECTORY
        )
        self.release = Release(
            self,
            "release",
            provider=props.provider,
            name=props.release_name,
            namespace=props.namespace,
            create_namespace=False,
            chart=chart.path,
            values=[to_values_yaml({"manifests": self.manifests})],
            wait=True,
            atomic=True,
            cleanup_on_fail=True,
            timeout=300,
            max_history=5,
            depends_on=list(props.depends_on),
        )
