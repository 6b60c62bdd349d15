"""External Secrets Operator: Secret Manager -> Kubernetes Secrets, and secrets
generated once in the cluster.

Its Google identity (cluster stack) may read only the secrets the services
declare (per-secret IAM). Install order: the operator (wait for its webhook),
then one bundle of every service's External Secrets objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from platform_config import PlatformConfig
from platform_constructs.helm_chart_release import HelmChartReleaseProps
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps
from platform_constructs.service_identity import (
    KubernetesServiceAccountRef,
    ServiceIdentity,
    ServiceIdentityProps,
)
from platform_services.external_secrets import manifests as eso
from platform_services.external_secrets.charts import EXTERNAL_SECRETS
from platform_services.external_secrets.workloads import (
    EXTERNAL_SECRETS_NAMESPACE,
    EXTERNAL_SECRETS_SERVICE_ACCOUNT,
)
from platform_services.service import BootstrapContext, ClusterContext, Namespace, PlatformService

if TYPE_CHECKING:
    from stacks.base import PlatformStack

#: The operator's Kubernetes service account, a Google identity through Workload Identity.
EXTERNAL_SECRETS_KSA = KubernetesServiceAccountRef(
    namespace=EXTERNAL_SECRETS_NAMESPACE, name=EXTERNAL_SECRETS_SERVICE_ACCOUNT
)


class Service(PlatformService):
    name = "external_secrets"

    identity: ServiceIdentity

    def namespaces(self, config: PlatformConfig) -> Sequence[Namespace]:
        return [Namespace(name=EXTERNAL_SECRETS_KSA.namespace)]

    def provision(self, stack: PlatformStack, ctx: ClusterContext) -> None:
        # External Secrets reads Secret Manager as this identity, and only the
        # secrets the services create (per-secret IAM, no project-wide role).
        self.identity = ServiceIdentity(
            stack,
            "external-secrets-identity",
            props=ServiceIdentityProps(
                project_id=ctx.config.project_id,
                account_id=ctx.config.names.external_secrets_service_account,
                display_name="External Secrets Operator (Secret Manager reader)",
                workload_identity_user=EXTERNAL_SECRETS_KSA,
                depends_on=[ctx.gke.cluster],
            ),
        )
        ctx.secret_readers["external-secrets"] = self.identity.member

    def facts(self, config: PlatformConfig) -> Mapping[str, str]:
        return {"external_secrets_gcp_service_account": self.identity.email_address}

    def install(self, stack: PlatformStack, ctx: BootstrapContext) -> None:
        operator = self.release(
            stack,
            "external-secrets",
            HelmChartReleaseProps(
                chart=EXTERNAL_SECRETS,
                release_name="external-secrets",
                namespace=ctx.namespace(EXTERNAL_SECRETS_KSA.namespace),
                provider=ctx.helm,
                computed_values={
                    "serviceAccount": {
                        "name": EXTERNAL_SECRETS_KSA.name,
                        "annotations": {"iam.gke.io/gcp-service-account": self.identity.email},
                    }
                },
            ),
        )
        store = eso.cluster_secret_store(
            project_id=ctx.config.project_id,
            cluster_name=ctx.cluster.gke.cluster.name,
            cluster_location=ctx.cluster.gke.cluster.location,
            service_account_name=EXTERNAL_SECRETS_KSA.name,
            service_account_namespace=EXTERNAL_SECRETS_KSA.namespace,
            namespaces=[
                namespace
                for service in ctx.services
                for namespace in service.secret_store_namespaces(ctx.config)
            ],
        )
        bundle = ManifestBundle(
            stack,
            "external-secrets-config",
            props=ManifestBundleProps(
                release_name="external-secrets-config",
                namespace=ctx.namespace(EXTERNAL_SECRETS_KSA.namespace),
                manifests=[store, *ctx.collect("secret_objects", ctx)],
                provider=ctx.helm,
                depends_on=[operator.release],
                namespaces=ctx.namespace_references,
            ),
        )
        ctx.stages.provide(self.name, "secrets", bundle.release)


def generated_secret_objects(
    ctx: BootstrapContext, *, name: str, namespace: str, keys: Sequence[str]
) -> list[dict[str, object]]:
    """A Secret generated once in the cluster, never in Git or Terraform state: for
    the apps' own secrets that their charts would re-randomize on every render."""
    reference = ctx.namespace(namespace)
    return [
        eso.password_generator(name=name, namespace=reference, keys=tuple(keys)),
        eso.generated_secret(name=name, namespace=reference, generator_name=name, target_name=name),
    ]
