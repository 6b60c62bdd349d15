"""GitOps handover: Argo CD manages itself from the definition Terraform
installed it with, and the platform's cloud facts reach Git."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from tests.support.argocd import applications, namespace_name, platform_of, refusals
from tests.support.stacks import dependency_graph, releases, resources, transitive, values_of
from tests.support.synth import Synthesized
from tests.support.variants import ROOT, VARIANTS, Json


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
    # Automated, but no selfHeal: it cannot revert a Terraform upgrade of the
    # release halfway (tests/stacks/test_bootstrap.py test_argo_cd_upgrade_order).
    assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": False}


def test_argo_cd_never_prunes_or_deletes_its_crds(synthesized: Synthesized) -> None:
    """Deleting the Application CRD would delete every Application."""
    values = values_of(releases(synthesized.stack("example", "bootstrap"))["argo-cd"])
    assert values["crds"]["keep"] is True
    options = values["crds"]["annotations"]["argocd.argoproj.io/sync-options"].split(",")
    assert {"Prune=false", "Delete=false", "ServerSideApply=true"} <= set(options)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_argo_cd_tracks_by_annotation_and_scopes_token_refs(
    synthesized: Synthesized, variant: str
) -> None:
    """Self-management: Argo CD tells its objects apart by its tracking
    annotation, not by app.kubernetes.io/instance (which the chart sets to the
    Helm release name for every object). Team ApplicationSets outside argocd:
    a tokenRef may only name Secrets labelled scm-creds."""
    values = values_of(releases(synthesized.stack(variant, "bootstrap"))["argo-cd"])
    assert values["configs"]["cm"]["application.resourceTrackingMethod"] == "annotation"
    params = values["configs"]["params"]
    assert params["applicationsetcontroller.enable.tokenref.strict.mode"] is True
    assert params["applicationsetcontroller.enable.scm.providers"] is False


# --------------------------------------------------------------------------- cloud facts

EXAMPLE_APPLICATIONSET = ROOT / "examples" / "team-app-applicationset.yaml"
#: An action: `.a.b.c`, or `index <path> "key"` (Go text/template builtins).
ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
PATH = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|\.")
INDEX = re.compile(r'index\s+(\S+)\s+"([^"\\]*)"')


class MissingKeyError(KeyError):
    pass


def _lookup(params: Json, path: str) -> Any:
    value: Any = params
    for part in [p for p in path.split(".") if p]:
        if not isinstance(value, dict) or part not in value:
            raise MissingKeyError(path)
        value = value[part]
    return value


def render_go_template(text: str, params: Json) -> str:
    """Go text/template as Argo CD's ApplicationSet controller runs it with
    goTemplate: true and missingkey=error, for the two action forms the example
    uses: a field path and `index` with a string key. Anything else (pipelines,
    functions, sprig, conditionals, ranges) raises NotImplementedError instead of
    being guessed. A field path to a missing key raises MissingKeyError
    (missingkey=error); `index` of a missing key is "" as in Go. Values are
    strings here, printed as Go prints them."""

    def action(match: re.Match[str]) -> str:
        expression = match[1]
        if PATH.fullmatch(expression):
            value = _lookup(params, expression)
        elif (index := INDEX.fullmatch(expression)) and PATH.fullmatch(index[1]):
            # Go's index returns the map's zero value ("") for a missing key,
            # whatever missingkey says (text/template funcs.go index): only
            # field paths fail on a missing fact.
            value = _lookup(params, index[1]).get(index[2], "")
        else:
            raise NotImplementedError(f"template action this renderer does not model: {expression}")
        if not isinstance(value, str):
            raise NotImplementedError(f"{expression} is not a string")
        return value

    return ACTION.sub(action, text)


def render(template: Any, params: Json) -> Any:
    """Argo CD renders every string of the template."""
    if isinstance(template, str):
        return render_go_template(template, params)
    if isinstance(template, dict):
        return {render(k, params): render(v, params) for k, v in template.items()}
    if isinstance(template, list):
        return [render(item, params) for item in template]
    return template


def cluster_registration(stack: Json) -> Json:
    secret = resources(stack, "kubernetes_secret_v1")["argocd-cluster-in-cluster"]
    assert isinstance(secret, dict)
    return secret


def cluster_generator_params(secret: Json) -> Json:
    """applicationset/generators/cluster.go (v3.4.4), goTemplate branch."""
    metadata = secret["metadata"]
    return {
        "name": secret["data"]["name"],
        "nameNormalized": secret["data"]["name"],
        "server": secret["data"]["server"],
        "project": "",
        "metadata": {"labels": metadata["labels"], "annotations": metadata["annotations"]},
    }


def test_in_cluster_registration_carries_the_cloud_facts(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "bootstrap")
    cluster = synthesized.stack("example", "cluster")
    secret = cluster_registration(stack)
    metadata = secret["metadata"]
    assert namespace_name(stack, metadata["namespace"]) == "argocd"
    assert secret["data"] == {
        "name": "in-cluster",
        "server": "https://kubernetes.default.svc",
        "config": '{"tlsClientConfig":{"insecure":false}}',
    }
    labels, facts = metadata["labels"], metadata["annotations"]
    assert labels == {
        "argocd.argoproj.io/secret-type": "cluster",
        "environment": "example",
        "gcp_project_id": "example-mlops-project",
        "gcp_region": "europe-west4",
    }
    for value in labels.values():
        assert re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", value)
    # Each fact is what the other stacks really create.
    accounts = {a["account_id"]: a for a in resources(cluster, "google_service_account").values()}
    project = "example-mlops-project"
    assert facts["mlflow_gcp_service_account"] in {
        f"{account_id}@{project}.iam.gserviceaccount.com" for account_id in accounts
    }
    assert facts["mlflow_gcp_service_account"].startswith("example-mlflow@")
    assert facts["external_secrets_gcp_service_account"].startswith("example-external-secrets@")
    buckets = {b["name"] for b in resources(cluster, "google_storage_bucket").values()}
    assert facts["mlflow_bucket"] in buckets
    (instance,) = resources(cluster, "google_sql_database_instance").values()
    assert facts["mlflow_cloudsql_connection_name"] == (
        f"{project}:{instance['region']}:{instance['name']}"
    )
    (gke,) = resources(cluster, "google_container_cluster").values()
    assert (facts["gke_cluster_name"], facts["gke_cluster_location"]) == (
        gke["name"],
        gke["location"],
    )
    assert facts["host_jupyterhub"] == "jupyterhub.mlops.example.com"
    assert facts["host_mlflow"] == "mlflow.mlops.example.com"
    assert facts["namespace_mlflow"] == "mlflow"
    assert facts["domain"] == "mlops.example.com"
    assert facts["gitops_repo_url"] == "git@github.com:example/mlops-gitops.git"
    assert facts["team_applications_namespace"] == "team-apps"


def test_cluster_registration_before_the_team_root_app(synthesized: Synthesized) -> None:
    stack = synthesized.stack("example", "bootstrap")
    closure = transitive(dependency_graph(stack))
    root = next(
        f"helm_release.{key}"
        for key, body in resources(stack, "helm_release").items()
        if body["name"] == "app-root"
    )
    assert "kubernetes_secret_v1.argocd-cluster-in-cluster" in closure[root]


def test_example_applicationset_renders_into_the_team_lane(synthesized: Synthesized) -> None:
    """The example ApplicationSet, rendered with the synthesized facts, is an
    Application carrying those facts that the team project lets run."""
    stack = synthesized.stack("example", "bootstrap")
    appset = yaml.safe_load(EXAMPLE_APPLICATIONSET.read_text())
    assert appset["spec"]["goTemplate"] is True
    assert appset["spec"]["goTemplateOptions"] == ["missingkey=error"]
    secret = cluster_registration(stack)
    selector = appset["spec"]["generators"][0]["clusters"]["selector"]["matchLabels"]
    assert selector.items() <= secret["metadata"]["labels"].items()
    app = render(appset["spec"]["template"], cluster_generator_params(secret))
    facts = secret["metadata"]["annotations"]
    values = app["spec"]["source"]["helm"]["valuesObject"]
    assert values["gcp"] == {"project": "example-mlops-project", "region": "europe-west4"}
    assert values["mlflow"] == {
        "url": "https://mlflow.mlops.example.com",
        "artifactBucket": facts["mlflow_bucket"],
        "serviceAccount": facts["mlflow_gcp_service_account"],
        "cloudSqlConnectionName": facts["mlflow_cloudsql_connection_name"],
    }
    assert values["notebooks"] == "https://jupyterhub.mlops.example.com"
    assert app["metadata"] == {"name": "experiments-example", "namespace": "team-apps"}
    assert appset["metadata"]["namespace"] == app["metadata"]["namespace"]
    platform = platform_of(stack)
    # Into a namespace the platform creates: it makes no Namespace of its own.
    destination = app["spec"]["destination"]["namespace"]
    assert destination in {
        ns["metadata"]["name"] for ns in resources(stack, "kubernetes_namespace_v1").values()
    }
    assert "CreateNamespace=true" not in app["spec"]["syncPolicy"].get("syncOptions", [])
    assert refusals(app["spec"], app["metadata"]["namespace"], platform) == []
    assert "{{" not in yaml.safe_dump(app)


def strings(value: Any) -> list[str]:
    """Every string (keys too) in a template: what Argo CD renders."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for k, v in value.items() for text in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []


def test_example_fails_on_any_missing_fact(synthesized: Synthesized) -> None:
    """The example promises "a missing fact is an error, not an empty string":
    true only where it reads facts as field paths (missingkey=error), so each
    fact it reads, taken away, must stop the rendering."""
    appset = yaml.safe_load(EXAMPLE_APPLICATIONSET.read_text())
    template = appset["spec"]["template"]
    params = cluster_generator_params(
        cluster_registration(synthesized.stack("example", "bootstrap"))
    )
    text = "\n".join(strings(template))
    used = [
        (kind, key)
        for kind in ("labels", "annotations")
        for key in params["metadata"][kind]
        if re.search(rf"\.metadata\.{kind}\.{re.escape(key)}\b", text)
        or re.search(rf'index\s+\.metadata\.{kind}\s+"{re.escape(key)}"', text)
    ]
    assert len(used) >= 8
    for kind, key in used:
        broken = copy.deepcopy(params)
        del broken["metadata"][kind][key]
        with pytest.raises(MissingKeyError):
            render(template, broken)


def test_renderer_refuses_missing_facts_and_unknown_syntax() -> None:
    params = {"metadata": {"annotations": {"a": "x"}, "labels": {}}}
    assert (
        render_go_template(
            '{{ .metadata.annotations.a }}-{{index .metadata.annotations "a"}}', params
        )
        == "x-x"
    )
    with pytest.raises(MissingKeyError):
        render_go_template("{{ .metadata.annotations.mlflow_bucket }}", params)
    # Go: index yields the zero value for a missing key, never an error.
    assert render_go_template('{{ index .metadata.annotations "b" }}', params) == ""
    with pytest.raises(NotImplementedError):
        render_go_template("{{ .metadata.annotations.a | upper }}", params)
