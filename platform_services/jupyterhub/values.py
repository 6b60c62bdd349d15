"""Computed Helm values of JupyterHub (zero-to-jupyterhub).

Pure Python (no cdktf import). `jupyterhub_values` returns the FULL values of
the chart: the static values file (apps.jupyterhub.values_file in helm-values/,
by default jupyterhub.yaml) with the computed part merged over it. The result
passes `chart_values_problems` for the chart with the default file (tested).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_builders.helm_values import deep_merge, load_values
from platform_builders.kubernetes_names import K8S_NAME as _K8S_NAME
from platform_builders.workloads import Workload

#: hub.extraConfig key of the authenticator snippet (the chart runs the
#: snippets last, sorted by key).
AUTHENTICATOR_CONFIG_KEY = "iap-header-authenticator"

_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")
_PRINCIPAL = re.compile(r"^[A-Za-z0-9.-]+/ns/[a-z0-9-]+/sa/[a-z0-9.-]+$")

# --- Generated app secrets (issue #12, item 3) -------------------------------------
# Argo CD renders charts with `helm template`, where `lookup` finds nothing, so
# both charts would make new random secrets on every render. External Secrets
# generates them once in the cluster (stacks/bootstrap.py); the charts read
# them through the settings below. No value is in Git or Terraform state.


#: hub.existingSecret: z2jh's hub reads these keys from it before its own
#: Secret (files/hub/z2jh.py get_secret_value: "existing-secret" first).
HUB_SECRET_NAME = "jupyterhub-hub-secret"
HUB_SECRET_KEYS = ("hub.config.JupyterHub.cookie_secret", "hub.config.CryptKeeper.keys")
#: Set in the chart's values so that its templates/hub/_helpers-passwords.tpl
#: takes "the chart configuration's value" instead of lookup + random. Never
#: used: the hub reads hub.existingSecret first. Deliberately invalid for
#: JupyterHub (not hex, not 32 bytes), so a hub that ever fell back to it
#: would refuse to start rather than run with a value published in Git.
HUB_SECRET_PLACEHOLDER = "unused; the hub reads this key from hub.existingSecret"
#: z2jh 4.4.0 reads the proxy token ONLY from its own Secret `hub` (schema of
#: hub.existingSecret; proxy and hub Deployments' CONFIGPROXY_AUTH_TOKEN), so
#: no value can switch its generation off without publishing the token. Argo
#: CD keeps the first one it applied instead: these fields are ignored in the
#: diff and, with RespectIgnoreDifferences, taken from the live object on
#: every sync (upstream: z2jh #2887, open PR #3903).
JUPYTERHUB_IGNORE_DIFFERENCES: tuple[dict[str, Any], ...] = (
    {
        "kind": "Secret",
        "name": "hub",
        "jsonPointers": ["/data/hub.config.ConfigurableHTTPProxy.auth_token"],
    },
    {
        # sha256 of the hub Secret, which holds that token.
        "group": "apps",
        "kind": "Deployment",
        "name": "hub",
        "jsonPointers": ["/spec/template/metadata/annotations/checksum~1secret"],
    },
    {
        # The token's hash, generated anew (separately) on every render.
        "group": "apps",
        "kind": "Deployment",
        "name": "proxy",
        "jsonPointers": ["/spec/template/metadata/annotations/checksum~1auth-token"],
    },
)
#: Replaces the ignored checksum/secret: the hub still restarts when its
#: values (hence its config in the Secret) change.
HUB_VALUES_CHECKSUM_ANNOTATION = "checksum/platform-values"


# --- JupyterHub ----------------------------------------------------------------


def jupyterhub_values(
    *,
    values_file: str,
    admin_users: Sequence[str],
    storage_size: str,
    cull_idle_minutes: int,
    gpu_pools: Sequence[GpuPool],
    identity_header: str,
    proxy_principal: str,
    istiod: Workload,
    mlflow: Workload | None,
    hub_host: str,
    mlflow_access: MlflowAccess | None = None,
) -> dict[str, Any]:
    """Full zero-to-jupyterhub 4.4.0 values.

    - values_file: the static values in helm-values/ (apps.jupyterhub.values_file,
      "jupyterhub.yaml" by default); the computed part is merged over them.
    - admin_users: emails of JupyterHub admins (as IAP reports them).
    - storage_size: per-user home volume, a Kubernetes quantity ("10Gi").
    - cull_idle_minutes: stop a server after this long without activity.
    - gpu_pools: the cluster's GPU node pools; each adds a GPU profile that
      runs on that pool, next to the default CPU one; empty: CPU only.
    - identity_header: header the Istio gateway fills with the verified IAP
      email (e.g. "x-iap-user-email"), overwriting anything the client sent.
    - proxy_principal: the mesh identity of the chart's proxy pod, the only
      caller of the hub's sign-in handler (the mesh admits only the gateway to
      the proxy): "cluster.local/ns/<namespace>/sa/<service account>".
    - istiod: the mesh's control plane, which every sidecar (hub, proxy, user
      servers) must reach; mlflow: MLflow's pods, which notebooks may reach,
      None when MLflow is off. See `network_policy_values`.
    - hub_host: the hub's host name (jupyterhub.<domain>); each user's server
      gets a host of its own under it. See `per_user_origin_values`.
    - mlflow_access: MLflow as a JupyterHub service and the token every user
      server gets for it (`mlflow_access_config`); None when MLflow is off.
    """
    admins = sorted({_checked_email(user) for user in admin_users})
    if not _QUANTITY.match(storage_size):
        raise ValueError(
            f"storage_size must be a Kubernetes quantity like 10Gi, got {storage_size!r}"
        )
    if isinstance(cull_idle_minutes, bool) or cull_idle_minutes <= 0:
        raise ValueError(f"cull_idle_minutes must be a positive integer, got {cull_idle_minutes!r}")
    if not _HEADER_NAME.match(identity_header):
        raise ValueError(f"identity_header must be an HTTP header name, got {identity_header!r}")
    principal = proxy_principal.removeprefix("spiffe://")
    if not _PRINCIPAL.match(principal):
        raise ValueError(
            "proxy_principal must look like cluster.local/ns/<namespace>/sa/<service-account>, "
            f"got {proxy_principal!r}"
        )

    computed: dict[str, Any] = {
        "hub": {
            "existingSecret": HUB_SECRET_NAME,
            "config": {
                "JupyterHub": {"cookie_secret": HUB_SECRET_PLACEHOLDER},
                "CryptKeeper": {"keys": [HUB_SECRET_PLACEHOLDER]},
                # allow_all: IAP already decides who reaches the hub (JupyterHub
                # 5 admits nobody unless an allow rule is set). auto_login: no
                # "Sign in" button page; /hub/login signs in from the header.
                "Authenticator": {
                    "admin_users": admins,
                    "allow_all": True,
                    "auto_login": True,
                },
                # User servers run arbitrary code: no Kubernetes API token. (With
                # a service account named, KubeSpawner's default None mounts one.)
                "KubeSpawner": {"automount_service_account_token": False},
            },
            "extraConfig": {
                AUTHENTICATOR_CONFIG_KEY: authenticator_config(
                    identity_header=identity_header, proxy_principal=principal
                ),
            },
        },
        "proxy": {
            # A dedicated mesh identity (JUPYTERHUB_PROXY_SERVICE_ACCOUNT), no
            # Kubernetes API token (chp never calls the API).
            "chp": {
                "extraPodSpec": {
                    "serviceAccountName": JUPYTERHUB_PROXY_SERVICE_ACCOUNT,
                    "automountServiceAccountToken": False,
                }
            }
        },
        "singleuser": {
            # A dedicated identity: the mesh lets it call the hub's API only,
            # never /hub/login (see mesh policies in stacks/bootstrap.py).
            "serviceAccountName": JUPYTER_USER_SERVICE_ACCOUNT,
            "storage": {"type": "dynamic", "capacity": storage_size},
            "profileList": _profiles(gpu_pools),
        },
        "cull": {"enabled": True, "timeout": cull_idle_minutes * 60},
    }
    if mlflow_access is not None:
        computed["hub"]["extraConfig"][MLFLOW_ACCESS_CONFIG_KEY] = mlflow_access_config(
            mlflow_access
        )
    static = load_values(values_file)
    computed = deep_merge(computed, network_policy_values(static, istiod=istiod, mlflow=mlflow))
    computed = deep_merge(computed, per_user_origin_values(hub_host))
    values = deep_merge(static, computed)
    values["hub"].setdefault("annotations", {})[HUB_VALUES_CHECKSUM_ANNOTATION] = values_checksum(
        values
    )
    return values


def values_checksum(values: dict[str, Any]) -> str:
    """sha256 of the values, without the checksum annotation itself."""
    hub = dict(values.get("hub", {}))
    annotations = {
        k: v for k, v in hub.get("annotations", {}).items() if k != HUB_VALUES_CHECKSUM_ANNOTATION
    }
    hub["annotations"] = annotations
    canonical = json.dumps({**values, "hub": hub}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def per_user_origin_values(hub_host: str) -> dict[str, Any]:
    """One origin per user: every user's server on a host of its own.

    JupyterHub 5.5 `subdomain_host` ("the full https://hub.domain.tld[:port]",
    jupyterhub/app.py; no trailing slash: the hub appends its base URL to it)
    puts each user's server on `<label>.<hub host>` (`subdomain_hook_idna`:
    the email becomes one DNS label such as u-aliceexa--ff8d981) and each
    service on `<name>--service.<hub host>`. Only here, in hub.config, does
    zero-to-jupyterhub 4.4.0 also give the proxy `--host-routing`
    (templates/proxy/deployment.yaml); set in hub.extraConfig the hub would
    register host routes that the proxy matches as paths.
    `cookie_host_prefix_enabled`: the hub's cookies are `__Host-` cookies
    (Secure, path /, no Domain): only the hub's own host receives them, and no
    other host can set them (cookie tossing). Only together with
    subdomain_host: on one shared host, path / would hand them to every user's
    server (the control run of test_jupyterhub_subdomains.py shows it). The
    gateway routes `*.<hub host>` to the proxy (the jupyterhub service's routes).
    """
    if not _HOST_NAME.match(hub_host):
        raise ValueError(f"hub_host must be a lowercase DNS name, got {hub_host!r}")
    return {
        "hub": {
            "config": {
                "JupyterHub": {
                    "subdomain_host": f"https://{hub_host}",
                    "cookie_host_prefix_enabled": True,
                }
            }
        }
    }


#: Kubernetes service account of user servers (created by the bootstrap stack).
JUPYTER_USER_SERVICE_ACCOUNT = "jupyter-user"
#: Kubernetes service account of the proxy (created by the bootstrap stack):
#: its mesh identity, which the hub's authenticator and the hub's ALLOW
#: policies trust. z2jh 4.4.0 has no proxy service-account value and its proxy
#: Deployment names none (the namespace's `default`, shared with the
#: user-placeholder pods); templates/proxy/deployment.yaml renders
#: proxy.chp.extraPodSpec into the pod spec as-is.
JUPYTERHUB_PROXY_SERVICE_ACCOUNT = "jupyterhub-proxy"


def _egress_to(workload: Workload) -> dict[str, Any]:
    """A NetworkPolicy egress rule to the workload's pods in its namespace, on its ports.

    Selectors, never ipBlocks: GKE Dataplane V2 (Cilium) does not match pod IPs
    with an ipBlock (cilium/cilium#19601).
    """
    return {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": workload.namespace}
                },
                "podSelector": {"matchLabels": dict(workload.selector)},
            }
        ],
        "ports": [{"protocol": "TCP", "port": port} for port in workload.ports],
    }


#: The hub's port (its Service and pod).
HUB_PORT = 8081


def _ingress_from(workload: Workload, port: int) -> dict[str, Any]:
    """A NetworkPolicy ingress rule from the workload's pods in its namespace, on `port`."""
    return {
        "from": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": workload.namespace}
                },
                "podSelector": {"matchLabels": dict(workload.selector)},
            }
        ],
        "ports": [{"protocol": "TCP", "port": port}],
    }


def _existing_ingress(static: dict[str, Any]) -> list[Any]:
    rules = static.get("hub", {}).get("networkPolicy", {}).get("ingress", [])
    return list(rules) if isinstance(rules, list) else []


#: The hub -> Kubernetes API server (KubeSpawner creates user pods, PVCs and
#: Services). z2jh 4.4.0 allows the hub's egress only to the proxy (8001) and
#: user servers (8888) by podSelector (templates/hub/netpol.yaml, "egress:"),
#: DNS by a kube-system namespaceSelector (templates/_helpers-netpol.tpl,
#: `dnsPortsKubeSystemNamespace`; GKE's kube-dns runs there, so DNS needs
#: nothing more) and everything else by ipBlocks (_helpers-netpol.tpl,
#: `nonPrivateIPs` and `privateIPs`). Cilium gives the API server its
#: `kube-apiserver` entity, which no ipBlock selects (zero-to-jupyterhub#3202:
#: the hub's calls dropped despite the 0.0.0.0/0 rule), and a NetworkPolicy
#: has no selector for it: only a rule without peers matches. GKE's
#: `kubernetes` Service targets the control plane endpoint on 443, so the rule
#: is that port only (it also lets the hub reach other destinations on 443,
#: which the chart's ipBlocks already allow outside the cluster).
HUB_API_SERVER_EGRESS: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": 443}]}


def network_policy_values(
    static: dict[str, Any], *, istiod: Workload, mlflow: Workload | None
) -> dict[str, Any]:
    """The egress rules the chart's hub, proxy and user-server policies need on
    GKE Dataplane V2, appended to those the values file already lists.

    Every sidecar (hub, proxy, user servers) fetches its configuration and
    certificate from istiod (15012); the chart reaches it only through its
    private-range ipBlocks, which Cilium never matches with a pod IP. The hub
    reaches the API server (HUB_API_SERVER_EGRESS). User servers (notebooks)
    reach MLflow in MLflow's namespace only, and only when it is deployed;
    then MLflow's pods reach the hub (8081: the chart's hub policy admits only
    pods labelled hub.jupyter.org/network-access-hub otherwise).
    """

    def existing(*path: str) -> list[Any]:
        node: Any = static
        for key in (*path, "networkPolicy"):
            node = node.get(key, {}) if isinstance(node, dict) else {}
        rules = node.get("egress", []) if isinstance(node, dict) else []
        return list(rules) if isinstance(rules, list) else []

    to_istiod = _egress_to(istiod)
    user_rules = [to_istiod, *([_egress_to(mlflow)] if mlflow is not None else [])]
    hub: dict[str, Any] = {"egress": [*existing("hub"), to_istiod, HUB_API_SERVER_EGRESS]}
    if mlflow is not None:
        # MLflow asks the hub whose a notebook's token is (its authorization function).
        hub["ingress"] = [*_existing_ingress(static), _ingress_from(mlflow, HUB_PORT)]
    return {
        "hub": {"networkPolicy": hub},
        "proxy": {"chp": {"networkPolicy": {"egress": [*existing("proxy", "chp"), to_istiod]}}},
        "singleuser": {"networkPolicy": {"egress": [*existing("singleuser"), *user_rules]}},
    }


#: The authenticator's source (read as text: the platform never imports it,
#: jupyterhub is not installed where cdktf synthesizes).
AUTHENTICATOR_SOURCE = Path(__file__).resolve().parent / "authenticator.py"


def authenticator_config(*, identity_header: str, proxy_principal: str) -> str:
    """Python for hub.extraConfig: sign users in from the gateway's identity header.

    The text of authenticator.py (how it works, and why the header is only
    believed from the proxy, is in its docstring) with its two configuration
    lines, `IDENTITY_HEADER = ...` and `PROXY_URI = ...`, replaced by the
    platform's values. Each line must be in the file exactly once.
    """
    proxy_uri = "spiffe://" + proxy_principal.removeprefix("spiffe://")
    source = AUTHENTICATOR_SOURCE.read_text()
    source = _replace_constant(source, "IDENTITY_HEADER", identity_header)
    return _replace_constant(source, "PROXY_URI", proxy_uri)


#: hub.extraConfig key of the MLflow access snippet.
MLFLOW_ACCESS_CONFIG_KEY = "mlflow-access"
#: The snippet's source (read as text, like the authenticator's).
MLFLOW_ACCESS_SOURCE = Path(__file__).resolve().parent / "mlflow_access.py"


@dataclass(frozen=True, kw_only=True)
class MlflowAccess:
    """What user servers need to reach MLflow as their user."""

    service: str
    """MLflow's name as a JupyterHub service (the scope names it)."""
    tracking_uri: str
    """MLflow's in-cluster URL (MLFLOW_TRACKING_URI of every user server)."""


def mlflow_access_config(access: MlflowAccess) -> str:
    """Python for hub.extraConfig: mlflow_access.py with its two configuration lines set."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", access.service):
        raise ValueError(f"MLflow's service name must be a JupyterHub name, got {access.service!r}")
    if not re.fullmatch(r"http://[a-z0-9.-]+(:[0-9]+)?", access.tracking_uri):
        raise ValueError(f"tracking_uri must be an in-cluster URL, got {access.tracking_uri!r}")
    path = MLFLOW_ACCESS_SOURCE
    source = _replace_constant(path.read_text(), "MLFLOW_SERVICE", access.service, path)
    return _replace_constant(source, "MLFLOW_TRACKING_URI", access.tracking_uri, path)


def _replace_constant(source: str, name: str, value: str, path: Path = AUTHENTICATOR_SOURCE) -> str:
    """`name = <value>` in place of the one line of `source` that assigns `name`."""
    lines = source.splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if line.startswith(f"{name} = ")]
    if len(found) != 1:
        raise ValueError(
            f"{path.name} must assign {name} on exactly one line "
            f"starting with '{name} = ', found {len(found)}"
        )
    lines[found[0]] = f"{name} = {value!r}\n"
    return "".join(lines)


@dataclass(frozen=True, kw_only=True)
class GpuPool:
    """A GPU node pool, as a JupyterHub profile sees it."""

    pool: str
    """The GKE node pool's name (label cloud.google.com/gke-nodepool)."""
    accelerator: str
    """GKE accelerator type, e.g. nvidia-l4."""
    count: int
    """GPUs per node: a server of the profile takes all of them."""


#: A GPU pool may start at 0 nodes: the autoscaler adds a node, GKE installs
#: the driver, and only then the server starts. Spawning waits this long.
GPU_START_TIMEOUT_SECONDS = 900


def _profiles(gpu_pools: Sequence[GpuPool]) -> list[dict[str, Any]]:
    profiles: list[dict[str, Any]] = [
        {
            "display_name": "CPU",
            "slug": "cpu",
            "description": "JupyterLab with the default CPU and memory.",
            "default": True,
        }
    ]
    pool_names = [gpu.pool for gpu in gpu_pools]
    if len(set(pool_names)) != len(pool_names):
        raise ValueError(f"gpu pools must have distinct names, got {pool_names}")
    for gpu in gpu_pools:
        if not _K8S_NAME.match(gpu.pool) or len(gpu.pool) > 40:
            raise ValueError(f"gpu pool must be a node pool name, got {gpu.pool!r}")
        if not gpu.accelerator or not _K8S_NAME.match(gpu.accelerator):
            raise ValueError(f"gpu type must be a GKE accelerator name, got {gpu.accelerator!r}")
        if isinstance(gpu.count, bool) or not isinstance(gpu.count, int) or gpu.count < 1:
            raise ValueError(f"gpu count must be a positive integer, got {gpu.count!r}")
        profiles.append(
            {
                "display_name": f"GPU ({gpu.count} x {gpu.accelerator}, pool {gpu.pool})",
                "slug": f"gpu-{gpu.pool}",
                "description": (
                    f"JupyterLab on a node of pool {gpu.pool} with {gpu.count} "
                    f"{gpu.accelerator} GPU(s). Starting one can take minutes."
                ),
                "kubespawner_override": {
                    "extra_resource_limits": {"nvidia.com/gpu": str(gpu.count)},
                    # Exactly that pool (its zones, spot or not), and GKE's
                    # accelerator label as a second check.
                    "node_selector": {
                        "cloud.google.com/gke-nodepool": gpu.pool,
                        "cloud.google.com/gke-accelerator": gpu.accelerator,
                    },
                    # GPU nodes are tainted so that only GPU workloads land there.
                    # (This list replaces the chart's user-pod tolerations for
                    # this profile; GPU nodes carry no other taint.)
                    "tolerations": [
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    "start_timeout": GPU_START_TIMEOUT_SECONDS,
                },
            }
        )
    return profiles


def _checked_email(value: str) -> str:
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or any(ch.isspace() for ch in email):
        raise ValueError(f"admin user must be an email address, got {value!r}")
    return email
