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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdktf import AssetType, ITerraformDependable, TerraformAsset, Token
from cdktf_cdktf_provider_helm.provider import HelmProvider
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

from platform_builders.helm_values import to_values_yaml

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
    timeout_seconds: int = 300
    """How long Helm waits for the objects (and hook Jobs) to be ready."""
    namespaces: Mapping[str, str] = field(default_factory=dict)
    """Namespace name -> a reference to the resource that creates it (its
    metadata.name). Each object's literal metadata.namespace is replaced by that
    reference, so the release depends on every namespace it writes into:
    installed after them, uninstalled before them. When given, every literal
    namespace must be in it."""


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
        self.manifests = [_with_namespace_reference(dict(m), props) for m in props.manifests]
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
            timeout=props.timeout_seconds,
            max_history=5,
            depends_on=list(props.depends_on),
        )


def _with_namespace_reference(
    manifest: dict[str, Any], props: ManifestBundleProps
) -> dict[str, Any]:
    metadata = dict(manifest.get("metadata") or {})
    namespace = metadata.get("namespace")
    if not props.namespaces or not namespace or Token.is_unresolved(namespace):
        return manifest
    if namespace not in props.namespaces:
        raise ValueError(
            f"ManifestBundle {props.release_name}: {manifest['kind']} {metadata['name']} is in "
            f"namespace {namespace!r}, which no resource of the stack creates "
            f"(known: {', '.join(sorted(props.namespaces))})"
        )
    metadata["namespace"] = props.namespaces[namespace]
    return {**manifest, "metadata": metadata}
