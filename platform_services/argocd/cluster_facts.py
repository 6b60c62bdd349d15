"""The platform's cloud facts on Argo CD's in-cluster registration (GitOps bridge).

Argo CD's cluster generator (ApplicationSets) reads cluster Secrets in the
argocd namespace and hands their labels and annotations to templates as
``.metadata.labels.<key>`` / ``.metadata.annotations.<key>``. Terraform writes
the in-cluster Secret with the facts the team's apps need, so Git never copies
a service account email or a bucket name by hand.

Labels carry only facts known at synth time that are valid label values
(project, region, environment: the config's types guarantee it); everything
else, Terraform references included (cross-stack values are tokens until
apply), goes in annotations, which take any string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Argo CD's name and address for the cluster it runs in.
IN_CLUSTER_NAME = "in-cluster"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
CLUSTER_SECRET_LABEL = {"argocd.argoproj.io/secret-type": "cluster"}
#: Kubernetes label values: at most 63 characters, alphanumeric at both ends.
LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
#: Fact keys: usable as `.metadata.annotations.<key>` in a Go template (no
#: '-' or '.'), and valid label/annotation names.
FACT_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")


@dataclass(frozen=True, kw_only=True)
class ClusterFacts:
    labels: Mapping[str, str]
    """Facts that are literal label values at synth time (selectable in a generator)."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Every fact (labels repeated), Terraform references allowed."""

    def __post_init__(self) -> None:
        for key, value in {**self.labels, **self.annotations}.items():
            if not FACT_KEY.fullmatch(key):
                raise ValueError(
                    f"ClusterFacts: key {key!r} is not a fact key ({FACT_KEY.pattern})"
                )
            if not isinstance(value, str):
                raise ValueError(f"ClusterFacts: {key} is not text")
        for key, value in self.labels.items():
            # A Terraform reference (a cdktf token, "${...}") never matches LABEL_VALUE.
            if not LABEL_VALUE.fullmatch(value):
                raise ValueError(
                    f"ClusterFacts: label {key}={value!r} is not a literal Kubernetes label "
                    "value (at most 63 characters, alphanumeric at both ends): "
                    "put it in annotations"
                )


def fact_key(*parts: str) -> str:
    """`host`, `team-app` -> `host_team_app` (a Go template field name)."""
    return "_".join(re.sub(r"[^a-z0-9]+", "_", part.lower()) for part in parts)
