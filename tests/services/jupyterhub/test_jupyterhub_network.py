"""JupyterHub's NetworkPolicies and mesh identities, as GKE Dataplane V2 sees them.

zero-to-jupyterhub 4.4.0 renders one NetworkPolicy each for the hub, the proxy
and user servers: the chart's own podSelector rules between them, the
`egressAllowRules` (templates/_helpers-netpol.tpl) and our `egress` list.
Dataplane V2 is Cilium: an `ipBlock` never matches a pod IP
(cilium/cilium#19601), and the Kubernetes API server is Cilium's
`kube-apiserver` entity, which no CIDR rule selects
(zero-to-jupyterhub#3202: drops to it despite the chart's 0.0.0.0/0 rule), so
only a rule without peers reaches it. The evaluator below applies exactly
those semantics to the synthesized values.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from platform_services.istio import workloads as istio_pods
from platform_services.jupyterhub import workloads as jupyterhub_pods
from platform_services.jupyterhub.values import AUTHENTICATOR_CONFIG_KEY
from tests.support.stacks import releases, resources, values_of
from tests.support.synth import Synthesized
from tests.support.variants import ROOT, Json

BOTH = ["example", "bastion"]  # bastion: MLflow off
NAMESPACE = "jupyterhub"
CHART_DEFAULTS = yaml.safe_load(
    (ROOT / "charts" / "reference" / "jupyterhub" / "values.yaml").read_text(encoding="utf-8")
)
ISTIOD = (istio_pods.ISTIO_NAMESPACE, {"app": "istiod"}, 15012)
KUBE_DNS = ("kube-system", {"k8s-app": "kube-dns"}, 53)
MLFLOW_LABELS = {"app.kubernetes.io/name": "mlflow"}


def _values(synthesized: Synthesized, variant: str) -> Json:
    stack = synthesized.stack(variant, "bootstrap")
    apps = values_of(releases(stack)["app-jupyterhub"])["applications"]
    values: Json = apps["jupyterhub"]["source"]["helm"]["valuesObject"]
    return values


def _network_policies(values: Json) -> dict[str, tuple[Json, Json]]:
    """Each pod's networkPolicy values with the chart's defaults for them."""
    return {
        "hub": (values["hub"].get("networkPolicy", {}), CHART_DEFAULTS["hub"]["networkPolicy"]),
        "proxy": (
            values["proxy"]["chp"].get("networkPolicy", {}),
            CHART_DEFAULTS["proxy"]["chp"]["networkPolicy"],
        ),
        "user": (
            values["singleuser"].get("networkPolicy", {}),
            CHART_DEFAULTS["singleuser"]["networkPolicy"],
        ),
    }


def _egress_rules(ours: Json, defaults: Json) -> list[Json]:
    """The egress rules the chart renders that can match an in-cluster peer.

    The chart's fixed rules (hub <-> proxy <-> user servers) are podSelectors
    in its own namespace and are not about the peers checked here; of the
    egressAllowRules only dnsPortsKubeSystemNamespace is a selector
    (_helpers-netpol.tpl, "dnsPortsKubeSystemNamespace"), the others are
    ipBlocks and are kept to show that they never match.
    """
    allow = {**defaults["egressAllowRules"], **ours.get("egressAllowRules", {})}
    egress: list[Json] = ours.get("egress") or defaults["egress"] or []
    rules = list(egress)
    if allow["dnsPortsKubeSystemNamespace"]:
        rules.append(
            {
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                "to": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                        }
                    }
                ],
            }
        )
    if allow["privateIPs"]:
        rules.append({"to": [{"ipBlock": {"cidr": c}} for c in ("10.0.0.0/8", "172.16.0.0/12")]})
    if allow["nonPrivateIPs"]:
        rules.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]})
    return rules


def _selects(selector: Json, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"evaluator knows matchLabels only: {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches_pod(peer: Json, namespace: str, labels: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        return False  # Dataplane V2: an ipBlock never matches a pod IP
    namespaces = peer.get("namespaceSelector")
    in_namespace = (
        namespace == NAMESPACE
        if namespaces is None
        else _selects(namespaces, {"kubernetes.io/metadata.name": namespace})
    )
    return in_namespace and _selects(peer.get("podSelector", {}), labels)


def _port_matches(rule: Json, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    return not ports or any(
        p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports
    )


def _reaches_pod(
    rules: list[Json], namespace: str, labels: dict[str, str], port: int, protocol: str = "TCP"
) -> bool:
    return any(
        _port_matches(rule, port, protocol)
        and (not rule.get("to") or any(_peer_matches_pod(p, namespace, labels) for p in rule["to"]))
        for rule in rules
    )


def _reaches_api_server(rules: list[Json], port: int) -> bool:
    """Cilium's kube-apiserver entity: only a rule without peers selects it."""
    return any(_port_matches(rule, port, "TCP") and not rule.get("to") for rule in rules)


@pytest.mark.parametrize("variant", BOTH)
def test_every_jupyterhub_pod_reaches_istiod_and_dns(
    synthesized: Synthesized, variant: str
) -> None:
    """Each sidecar fetches its config and certificate from istiod:15012."""
    for pod, (ours, defaults) in _network_policies(_values(synthesized, variant)).items():
        rules = _egress_rules(ours, defaults)
        assert _reaches_pod(rules, *ISTIOD), f"{pod} cannot reach istiod"
        assert _reaches_pod(rules, *KUBE_DNS, protocol="UDP"), f"{pod} cannot reach kube-dns"
        # ... and not every other pod of istio-system.
        assert not _reaches_pod(rules, istio_pods.ISTIO_NAMESPACE, {"app": "x"}, 15012), pod


@pytest.mark.parametrize("variant", BOTH)
def test_the_hub_reaches_the_api_server(synthesized: Synthesized, variant: str) -> None:
    """KubeSpawner creates user pods, PVCs and Services through the API (GKE's
    `kubernetes` Service targets port 443 of the control plane endpoint)."""
    ours, defaults = _network_policies(_values(synthesized, variant))["hub"]
    assert _reaches_api_server(_egress_rules(ours, defaults), 443)
    for pod in ("proxy", "user"):
        ours, defaults = _network_policies(_values(synthesized, variant))[pod]
        assert not _reaches_api_server(_egress_rules(ours, defaults), 443), pod


@pytest.mark.parametrize("variant", BOTH)
def test_notebooks_reach_mlflow_only_in_its_namespace(
    synthesized: Synthesized, variant: str
) -> None:
    values = _values(synthesized, variant)
    ours, defaults = _network_policies(values)["user"]
    rules = _egress_rules(ours, defaults)
    mlflow_on = variant == "example"
    assert _reaches_pod(rules, "mlflow", MLFLOW_LABELS, 5000) is mlflow_on
    # A pod a team labels like MLflow in its own namespace is not reachable.
    assert not _reaches_pod(rules, "team-apps", MLFLOW_LABELS, 5000)
    # No rule of any pod selects every namespace.
    for pod, (ours, _) in _network_policies(values).items():
        for rule in ours.get("egress", []):
            for peer in rule.get("to", []):
                assert peer.get("namespaceSelector") != {}, (pod, rule)
    if not mlflow_on:
        assert "mlflow" not in yaml.safe_dump(ours.get("egress", []))


@pytest.mark.parametrize("variant", BOTH)
def test_the_proxy_has_a_mesh_identity_of_its_own(synthesized: Synthesized, variant: str) -> None:
    values = _values(synthesized, variant)
    proxy = jupyterhub_pods.jupyterhub_workloads(NAMESPACE)["proxy"]
    account: Any = values["proxy"]["chp"].get("extraPodSpec", {}).get("serviceAccountName")
    # The chart's proxy Deployment renders proxy.chp.extraPodSpec into its pod spec.
    assert account == proxy.service_account
    assert account not in {"default", "hub", values["singleuser"]["serviceAccountName"]}
    # Nothing else of the chart runs as it (user-placeholder pods stay on `default`).
    placeholder = values.get("scheduling", {}).get("userPlaceholder", {})
    assert account not in yaml.safe_dump(placeholder)
    stack = synthesized.stack(variant, "bootstrap")
    accounts = [
        r
        for r in resources(stack, "kubernetes_service_account_v1").values()
        if r["metadata"]["name"] == account
    ]
    assert [a["automount_service_account_token"] for a in accounts] == [False]
    # The hub's authenticator trusts exactly that identity.
    snippet = values["hub"]["extraConfig"][AUTHENTICATOR_CONFIG_KEY]
    assert f"PROXY_URI = 'spiffe://cluster.local/ns/{NAMESPACE}/sa/{account}'\n" in snippet
