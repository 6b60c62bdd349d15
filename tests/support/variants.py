"""Config variants the tests synthesize and mutate (plain data, no jsii)."""

from __future__ import annotations

import contextlib
import copy
import resource
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"


STACK_NAMES = ("network", "cluster", "bootstrap")


Json = dict[str, Any]


def example_data() -> Json:
    """The example config as plain data, for tests to mutate."""
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    assert isinstance(data, dict)
    return data


#: A project that is not the example's placeholder: the operator scripts refuse
#: the untouched example config (platform_config --print-facts).
OWN_PROJECT_ID = "acme-mlops-dev"


def own_project(data: Json) -> Json:
    """The config with the operator's own project instead of the example's placeholder."""
    return {**data, "project_id": OWN_PROJECT_ID}


def child_cpu_seconds() -> float:
    """CPU seconds used so far by this process's waited-for children.

    Time limits on a command are checked in CPU time: wall time on a shared
    2-core CI machine measures the neighbours (a 0.6 s rejection took 2.9 s of
    wall time while another test suite ran)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def set_path(data: Json, path: str, value: Any) -> None:
    """Set a config field by its error-message path, e.g. cluster.node_pools[0].min_nodes."""
    parts = path.replace("]", "").replace("[", ".").split(".")
    target: Any = data
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


def bastion_data() -> Json:
    data = copy.deepcopy(example_data())
    data["environment"] = "bastion"
    data["cluster"]["control_plane_access"] = "bastion"
    data["access"]["bastion_members"] = ["group:platform-admins@example.com"]
    data["access"]["argocd_sign_in"] = "google_oidc"
    data["gitops"] = {"repo_url": "https://github.com/example/mlops-gitops.git"}
    data["dns"] = {"managed_zone": "mlops-example-com"}
    data["apps"]["mlflow"] = {"enabled": False}
    data["ingress"] = {"backend_timeout_seconds": 7200, "connection_draining_seconds": 0}
    data["cluster"]["node_pools"].append(
        {
            "name": "gpu",
            "machine_type": "g2-standard-8",
            "max_nodes": 2,
            "spot": True,
            "gpu": {"type": "nvidia-l4", "count": 1},
            "zones": ["europe-west4-a", "europe-west4-c"],
        }
    )
    return data


#: The app that example_plus_app_data adds to the example.
EXTRA_APP = "tools"


def example_plus_app_data() -> Json:
    """The example with one more app (adding it must leave every existing certificate
    alone) and two teams."""
    data = example_data()
    data["apps"][EXTRA_APP] = {
        "chart_repo": "https://charts.example.com",
        "chart": "tools",
        "chart_version": "1.0.0",
        "values_file": "mlflow.yaml",  # any existing file: only the certificates matter here
        "service": "tools",
        "service_port": 80,
    }
    # Two tenants beside the `gitops` lane (issue 22): nothing of the platform changes.
    data["teams"] = TEAMS
    return data


#: Two teams side by side (the example-plus-app variant).
TEAMS: Json = {
    "vision": {
        "members": ["ana@example.com", "bo@example.com"],
        "repo_url": "https://github.com/example/vision-gitops.git",
        "namespaces": ["vision-dev", "vision-prod"],
        "chart_repositories": ["https://charts.bitnami.com/bitnami"],
        "quota": {"cpu": "8", "memory": "32Gi", "pods": 80},
    },
    "nlp": {
        "members": ["cy@example.com"],
        "repo_url": "https://gitlab.example.com/nlp/deploy.git",
        "revision": "prod",
        "path": "clusters/prod",
        "namespaces": ["nlp"],
    },
}


#: A team's Helm values file of free text that Terraform would evaluate if it
#: reached cdk.tf.json unescaped (read a file, run a loop), next to text that
#: only looks like syntax. The "hostile" variant's custom app uses it.
HOSTILE_VALUES_FILE = "hostile-team-app.yaml"


HOSTILE_VALUES_TEXT = """\
# Free text: every string must reach the chart exactly as written here.
shell: 'echo ${HOME} and %{ if true }yes%{ endif }'
exfiltrate: '${file("~/.config/gcloud/application_default_credentials.json")}'
loop: '%{ for x in ["a", "b"] }${x}%{ endfor }'
escaped: '$${already-escaped} %%{ also }'
price: 'costs 5$ or 7%'
braces: '{$} {%} ${ } %{ }'
"""


def hostile_data() -> Json:
    """The example with every free-form field at its trickiest accepted value.

    Labels whose keys cdktf would rewrite (managed-by -> managed_by), members
    and emails with '+', '.', '_' and '-', an ssh:// repo URL with a port, a
    revision and path with '/', '.', '+', and a custom app from an oci://
    repository whose values file is HOSTILE_VALUES_TEXT.
    """
    data = copy.deepcopy(example_data())
    data["environment"] = "hostile"
    data["labels"] = {"cost-center": "ml_platform-1", "team__x": "", "z9": "0"}
    data["access"]["iap_members"] = [
        "group:ml.team+ops@example.com",
        "user:o_brien-x@example.co.uk",
        "domain:example.com",
        "serviceAccount:ci-bot@example-mlops-project.iam.gserviceaccount.com",
    ]
    data["access"]["organization_domains"] = ["example.com", "example.co.uk"]
    data["access"]["argocd_admins"] = ["first.last+argo@example.com", "x_y-z@sub.example.com"]
    data["gitops"] = {
        "repo_url": "ssh://git@git.example.com:2222/team/gitops.git",
        "revision": "release/2026.01+rc_1",
        "path": "clusters/prod.eu/apps",
        # Not the default team-apps: the applications namespace is the team's own.
        "applications_namespace": "ml-apps",
        "namespaces": ["ml-training", "sandbox"],
    }
    data["apps"]["team-app"] = {
        "chart_repo": "oci://registry.example.com/charts",
        "chart": "team-app",
        "chart_version": "1.2.3-rc.1",
        "values_file": HOSTILE_VALUES_FILE,
        "host": "team",
        "namespace": "team-app",
        "service": "team-app",
        "service_port": 8080,
    }
    return data


@contextlib.contextmanager
def values_dir_with(files: dict[str, str], directory: Path) -> Iterator[Path]:
    """helm-values/ copied to `directory` plus `files`, seen by the config and the values loader."""
    from platform_config import paths

    for source in paths.HELM_VALUES_DIR.glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    for name, text in files.items():
        (directory / name).write_text(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(paths, "HELM_VALUES_DIR", directory)
        yield directory


#: Config variants synthesized once per session: the example (dns mode, all
#: apps), a variant exercising the other branches (bastion mode, Google OIDC,
#: https GitOps repo, managed DNS zone, GPU pool, MLflow off), the example with
#: one app more (what adding or removing an app changes), and the hostile one
#: (tests/stacks/test_config_terraform.py reads it back as Terraform does).
#: 30 custom apps: more than the 13 that per-host certificates allowed.
THIRTY_APPS: Json = {
    f"app{i:02d}": {
        "chart_repo": "https://charts.example.com",
        "chart": "app",
        "chart_version": "1.0.0",
        "values_file": "mlflow.yaml",  # any existing file: only hosts and certificates matter
        "service": "app",
        "service_port": 80,
    }
    for i in range(30)
}


def thirty_apps_data() -> Json:
    """The example with 30 custom apps: the certificates do not limit the apps."""
    data = example_data()
    data["environment"] = "thirty"
    data["apps"].update(copy.deepcopy(THIRTY_APPS))
    return data


VARIANTS: dict[str, Callable[[], Json]] = {
    "example": example_data,
    "bastion": bastion_data,
    "example-plus-app": example_plus_app_data,
    "hostile": hostile_data,
    "thirty-apps": thirty_apps_data,
}
