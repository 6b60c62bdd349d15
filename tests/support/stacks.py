"""Reading synthesized stacks: resources, Helm releases and their values, the dependency graph."""

from __future__ import annotations

import json
import re

import yaml

from tests.support.variants import Json


def resources(stack: Json, kind: str) -> dict[str, Json]:
    """All resources of one Terraform type in a synthesized stack, by name."""
    found = stack.get("resource", {}).get(kind, {})
    assert isinstance(found, dict)
    return found


def only(stack: Json, kind: str) -> Json:
    """The single resource of a type; fails if there are none or several."""
    found = resources(stack, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.values()))


def releases(stack: Json) -> dict[str, Json]:
    """helm_release resources keyed by Helm release name."""
    return {r["name"]: r for r in resources(stack, "helm_release").values()}


def values_of(release: Json) -> Json:
    merged: Json = {}
    for text in release.get("values", []):
        merged.update(yaml.safe_load(text) or {})
    return merged


def custom_resources(release: Json) -> list[Json]:
    """Objects a release creates from its values: manifests bundle or Applications."""
    values = values_of(release)
    if "manifests" in values:
        return list(values["manifests"])
    if release["chart"] == "argocd-apps":
        return [
            {
                "kind": "Application",
                "metadata": {"name": name, "namespace": app["namespace"]},
                "spec": {"destination": app["destination"], "project": app["project"]},
            }
            for name, app in values["applications"].items()
        ]
    return []


#: A Terraform address inside an expression: type.name (or data.type.name), then an
#: attribute, an index or the expression's end.
ADDRESS = re.compile(r"(?<![\w.-])((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)(?=[.\[}])")


def dependency_graph(stack: Json) -> dict[str, set[str]]:
    """Terraform address -> the addresses it depends on directly.

    Both kinds of edge Terraform knows: depends_on, and every ${...} reference
    to another resource or data source. Terraform creates a dependency before
    its dependents and destroys it after them; it also records the edges in
    state, so a resource that leaves the config is destroyed only after the
    resources that depended on it have been updated or destroyed.
    """
    bodies: dict[str, Json] = {}
    for kind, items in stack.get("resource", {}).items():
        for name, body in items.items():
            bodies[f"{kind}.{name}"] = body
    for kind, items in stack.get("data", {}).items():
        for name, body in items.items():
            bodies[f"data.{kind}.{name}"] = body
    graph: dict[str, set[str]] = {}
    for address, body in bodies.items():
        expressions = json.dumps({k: v for k, v in body.items() if k not in ("//", "depends_on")})
        referenced = {m for m in ADDRESS.findall(expressions) if m in bodies}
        graph[address] = (set(body.get("depends_on", [])) | referenced) - {address}
    return graph


def transitive(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """address -> everything it depends on, directly or not."""
    closure: dict[str, set[str]] = {}

    def visit(address: str) -> set[str]:
        if address not in closure:
            closure[address] = set()
            for dependency in graph.get(address, set()):
                closure[address] |= {dependency} | visit(dependency)
        return closure[address]

    for address in graph:
        visit(address)
    return closure


def dependency_closure(stack: Json) -> dict[str, set[str]]:
    """release name -> every release name it (transitively) depends on."""
    names = {
        f"helm_release.{key}": body["name"]
        for key, body in resources(stack, "helm_release").items()
    }
    closure = transitive(dependency_graph(stack))
    return {
        names[address]: {names[d] for d in depends if d in names}
        for address, depends in closure.items()
        if address in names
    }


def applications_by_name(stack: Json) -> dict[str, Json]:
    found: dict[str, Json] = {}
    for release in releases(stack).values():
        if release["chart"] == "argocd-apps":
            found.update(values_of(release)["applications"])
    return found


def secrets_config(stack: Json) -> list[Json]:
    return list(values_of(releases(stack)["external-secrets-config"])["manifests"])


def generated(stack: Json, secret_name: str) -> tuple[Json, Json]:
    """(ExternalSecret, Password generator) that make `secret_name`."""
    objects = secrets_config(stack)
    (external_secret,) = [
        o
        for o in objects
        if o["kind"] == "ExternalSecret" and o["spec"]["target"]["name"] == secret_name
    ]
    (source,) = external_secret["spec"]["dataFrom"]
    ref = source["sourceRef"]["generatorRef"]
    (generator,) = [
        o
        for o in objects
        if o["kind"] == ref["kind"]
        and o["metadata"]["name"] == ref["name"]
        and o["metadata"]["namespace"] == external_secret["metadata"]["namespace"]
    ]
    return external_secret, generator
