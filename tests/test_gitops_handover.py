"""GitOps handover: Argo CD manages itself from the definition Terraform
installed it with, and the platform's cloud facts reach Git."""

from __future__ import annotations

import pytest

from tests.conftest import VARIANTS, Synthesized
from tests.test_argocd_projects import applications, namespace_name
from tests.test_bootstrap import releases, values_of


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_argo_cd_manages_itself_from_the_one_definition(
    synthesized: Synthesized, variant: str
) -> None:
    """The argo-cd Application renders exactly what Terraform installed: same
    repository, chart, version, release name, namespace and values (parsed)."""
    stack = synthesized.stack(variant, "bootstrap")
    release = releases(stack)["argo-cd"]
    app, app_namespace = applications(stack)["argo-cd"]
    source = app["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
        release["repository"],
        release["chart"],
        release["version"],
    )
    assert source["helm"]["releaseName"] == release["name"]
    assert source["helm"]["valuesObject"] == values_of(release)
    assert app["destination"]["namespace"] == namespace_name(stack, release["namespace"])
    assert app_namespace == "argocd" and app["project"] == "platform"
    # Deleting the Application (cdktf destroy, a mistake) leaves Argo CD running.
    assert not app.get("finalizers")
    assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


def test_argo_cd_never_prunes_or_deletes_its_crds(synthesized: Synthesized) -> None:
    """Deleting the Application CRD would delete every Application."""
    values = values_of(releases(synthesized.stack("example", "bootstrap"))["argo-cd"])
    assert values["crds"]["keep"] is True
    options = values["crds"]["annotations"]["argocd.argoproj.io/sync-options"].split(",")
    assert {"Prune=false", "Delete=false", "ServerSideApply=true"} <= set(options)
