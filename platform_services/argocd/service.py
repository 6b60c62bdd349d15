"""Argo CD: the GitOps engine, its sign-in, its projects and the GitOps bridge.

Install order: istiod + the services' secrets + mesh policies -> argo-cd ->
argocd-projects (AppProjects) -> Applications ("argocd-ready"); argo-cd's own
Application after its release is ready; the in-cluster registration Secret
(the platform's facts) and tenant-admission (the team namespaces'
ValidatingAdmissionPolicies, tenancy.py) -> app-root (the team's app-of-apps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cdktf import TerraformOutput
from cdktf_cdktf_provider_kubernetes.secret_v1 import SecretV1

from platform_config import PlatformConfig
from platform_config.teams import applications_namespace, team_namespaces
from platform_constructs.argo_app import ArgoApp, ArgoAppProps, GitPathSource, HelmChartSource
from platform_constructs.helm_chart_release import HelmChartRelease, HelmChartReleaseProps
from platform_constructs.iap_ingress import RouteTarget
from platform_constructs.managed_secret import ManagedSecret, ManagedSecretProps
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps
from platform_services.argocd import tenancy
from platform_services.argocd.charts import ARGO_CD
from platform_services.argocd.cluster_facts import (
    CLUSTER_SECRET_LABEL,
    IN_CLUSTER_NAME,
    IN_CLUSTER_SERVER,
    ClusterFacts,
)
from platform_services.argocd.projects import (
    PLATFORM_PROJECT,
    TEAM_NAMESPACED_KINDS,
    TEAM_PROJECT,
    app_project,
)
from platform_services.argocd.values import ARGOCD_SERVER_SERVICE, OIDC_CLIENT_SECRET, argocd_values
from platform_services.argocd.workloads import (
    ARGOCD_APPLICATIONSET,
    ARGOCD_CONTROLLER,
    ARGOCD_DEX,
    ARGOCD_NAMESPACE,
    ARGOCD_NOTIFICATIONS,
    ARGOCD_REDIS,
    ARGOCD_REPO_SERVER,
    ARGOCD_SERVER,
)
from platform_services.external_secrets import manifests as eso
from platform_services.istio import mesh
from platform_services.istio.workloads import GATEWAY
from platform_services.service import (
    BootstrapContext,
    ClusterContext,
    Manifest,
    Namespace,
    PlatformService,
    allow,
    by,
)

if TYPE_CHECKING:
    from stacks.base import PlatformStack

REPO_SECRET = "argocd-repo-gitops"
#: Secret Manager secret ids (per environment) and the JSON each one holds.
REPO_CREDENTIALS_SHAPES = {
    "ssh": {"sshPrivateKey": "a read-only deploy key (PEM)"},
    "https": {"username": "any non-empty user", "password": "a read-only access token"},
}
OIDC_CLIENT_SHAPE = {
    "clientID": "<id>.apps.googleusercontent.com",
    "clientSecret": "the OAuth client's secret",
}


class Service(PlatformService):
    name = "argocd"

    def namespaces(self, config: PlatformConfig) -> Sequence[Namespace]:
        # The teams': their Application objects (applications namespaces) and
        # workloads, owned by the platform (tenancy.py), out of the mesh.
        return [
            Namespace(name=ARGOCD_NAMESPACE, sidecars=True, deny_by_default=True),
            *(
                Namespace(name=name, labels=tenancy.namespace_labels(tenant))
                for tenant, names in self._tenants(config).items()
                for name in names
            ),
        ]

    @staticmethod
    def _tenants(config: PlatformConfig) -> dict[str, list[str]]:
        """Tenant (its AppProject) -> its namespaces, the applications namespace
        first: the `gitops` lane (project `team`), then each of `teams`."""
        gitops = config.gitops
        return {
            TEAM_PROJECT: list(dict.fromkeys([gitops.applications_namespace, *gitops.namespaces])),
            **{name: team_namespaces(name, team) for name, team in config.teams.items()},
        }

    def network_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        return [
            policy
            for names in self._tenants(config).values()
            for name in names
            for policy in tenancy.network_policies(name)
        ]

    def secret_store_namespaces(self, config: PlatformConfig) -> Sequence[str]:
        # Repository credentials and the OIDC client: Argo CD's only.
        return [ARGOCD_NAMESPACE]

    def routes(self, config: PlatformConfig) -> Mapping[str, RouteTarget]:
        return {
            config.argocd_host: RouteTarget(
                service=ARGOCD_SERVER_SERVICE, namespace=ARGOCD_NAMESPACE, port=80
            )
        }

    def platform_project_sources(self, config: PlatformConfig) -> Sequence[str]:
        return [ARGO_CD.repository]

    def platform_project_destinations(self, config: PlatformConfig) -> Sequence[str]:
        return [ARGOCD_NAMESPACE]

    def mesh_policies(self, config: PlatformConfig) -> Sequence[Manifest]:
        # The UI/API from the gateway; Dex only behind argocd-server (its
        # authproxy connector trusts headers); repo-server and Redis only from
        # the components that use them (the chart's NetworkPolicies agree).
        return [
            allow(ARGOCD_SERVER, by(GATEWAY)),
            allow(ARGOCD_DEX, by(ARGOCD_SERVER)),
            allow(
                ARGOCD_REPO_SERVER,
                by(ARGOCD_CONTROLLER, ARGOCD_SERVER, ARGOCD_APPLICATIONSET, ARGOCD_NOTIFICATIONS),
            ),
            allow(ARGOCD_REDIS, by(ARGOCD_SERVER, ARGOCD_CONTROLLER, ARGOCD_REPO_SERVER)),
        ]

    def facts(self, config: PlatformConfig) -> Mapping[str, str]:
        return {
            **self._literal_facts(config),
            "domain": config.domain,
            "argocd_host": config.argocd_host,
            "gke_cluster_name": config.names.gke_cluster,
            "gke_cluster_location": config.region,
            "gitops_repo_url": config.gitops.repo_url,
            "gitops_revision": config.gitops.revision,
            "team_applications_namespace": config.gitops.applications_namespace,
        }

    @staticmethod
    def _literal_facts(config: PlatformConfig) -> dict[str, str]:
        """Facts that are literal label values (selectable in a cluster generator)."""
        return {
            "environment": config.environment,
            "gcp_project_id": config.project_id,
            "gcp_region": config.region,
        }

    def final_steps(self, config: PlatformConfig) -> Sequence[str]:
        return [
            f"open https://{config.argocd_host} and sign in as a member of access.iap_members "
            "(certificates turn ACTIVE once DNS points at the ingress IP, up to an hour)"
        ]

    # ---- cluster stack: the secrets only the operator can fill
    def provision(self, stack: PlatformStack, ctx: ClusterContext) -> None:
        config = ctx.config
        if config.gitops.needs_credentials:
            self._secret(
                stack,
                ctx,
                key="repo-credentials",
                construct_id="argocd-repo-credentials",
                secret_id=config.names.repo_credentials_secret,
                value_shape=REPO_CREDENTIALS_SHAPES[config.gitops.repo_scheme],
                description=f"Argo CD credentials for {config.gitops.repo_url}",
            )
        if config.access.argocd_sign_in == "google_oidc":
            self._secret(
                stack,
                ctx,
                key="oidc-client",
                construct_id="argocd-oidc-client",
                secret_id=config.names.oidc_client_secret,
                value_shape=OIDC_CLIENT_SHAPE,
                description=(
                    f"Google OAuth client for Argo CD; redirect URI "
                    f"https://{config.argocd_host}/api/dex/callback"
                ),
            )

    @staticmethod
    def _secret(
        stack: PlatformStack,
        ctx: ClusterContext,
        *,
        key: str,
        construct_id: str,
        secret_id: str,
        value_shape: Mapping[str, str],
        description: str,
    ) -> None:
        """A Secret Manager secret External Secrets may read, in ctx.secrets[key]."""
        ctx.secrets[key] = ManagedSecret(
            stack,
            construct_id,
            props=ManagedSecretProps(
                secret_id=secret_id,
                project_id=ctx.config.project_id,
                region=ctx.config.region,
                accessors=dict(ctx.secret_readers),
                value_shape=value_shape,
                description=description,
            ),
        )

    def secret_objects(self, ctx: BootstrapContext) -> Sequence[Manifest]:
        secrets, config = ctx.cluster.secrets, ctx.config
        objects = []
        if "repo-credentials" in secrets:
            keys = (
                ("username", "password")
                if config.gitops.repo_scheme == "https"
                else ("sshPrivateKey",)
            )
            objects.append(
                eso.external_secret(
                    name="gitops-repository",
                    namespace=ctx.namespace(ARGOCD_NAMESPACE),
                    secret_id=secrets["repo-credentials"].secret_id,
                    target_name=REPO_SECRET,
                    labels={"argocd.argoproj.io/secret-type": "repository"},
                    data={
                        "type": "git",
                        "url": config.gitops.repo_url,
                        **{key: "{{ ." + key + " }}" for key in keys},
                    },
                )
            )
        if "oidc-client" in secrets:
            objects.append(
                eso.external_secret(
                    name="argocd-oidc-client",
                    namespace=ctx.namespace(ARGOCD_NAMESPACE),
                    secret_id=secrets["oidc-client"].secret_id,
                    target_name=OIDC_CLIENT_SECRET,
                    # Argo CD only resolves $<secret>:<key> from Secrets it owns.
                    labels={"app.kubernetes.io/part-of": "argocd"},
                    data={"clientID": "{{ .clientID }}", "clientSecret": "{{ .clientSecret }}"},
                )
            )
        return objects

    # ---- bootstrap stack
    def install(self, stack: PlatformStack, ctx: BootstrapContext) -> None:
        config = ctx.config
        argocd = self.release(
            stack,
            "argo-cd",
            HelmChartReleaseProps(
                chart=ARGO_CD,
                release_name="argo-cd",
                namespace=ctx.namespace(ARGOCD_NAMESPACE),
                provider=ctx.helm,
                computed_values=argocd_values(
                    host=config.argocd_host,
                    admins=config.access.argocd_admins,
                    default_role=config.access.argocd_default_role,
                    sign_in=config.access.argocd_sign_in,
                    identity_header=mesh.IDENTITY_HEADER,
                    team_applications_namespace=config.gitops.applications_namespace,
                    teams={
                        name: (applications_namespace(name), team.members)
                        for name, team in config.teams.items()
                    },
                ),
                depends_on=ctx.stages.after(self.name, "istiod", "secrets", "mesh-policies"),
                timeout_seconds=900,
            ),
        )
        projects = self._projects(stack, ctx, argocd)
        ctx.stages.provide(
            self.name,
            "argocd-ready",
            argocd.release,
            *ctx.stages.after(self.name, "secrets"),
            projects.release,
        )
        self._self_management(stack, ctx, argocd, projects)
        # Built-in kinds (no CRD): installed before anything of the team's syncs.
        admission = ManifestBundle(
            stack,
            "tenant-admission",
            props=ManifestBundleProps(
                release_name="tenant-admission",
                namespace=ctx.namespace(ARGOCD_NAMESPACE),
                manifests=tenancy.admission_policies(),
                provider=ctx.helm,
                depends_on=[],
            ),
        )
        self._team_root(stack, ctx, admission)
        self._teams(stack, ctx, admission)
        TerraformOutput(stack, "argocd_url", value=f"https://{config.argocd_host}")

    def _projects(
        self, stack: PlatformStack, ctx: BootstrapContext, argocd: HelmChartRelease
    ) -> ManifestBundle:
        """Each Application in its lane (docs/architecture.md): the AppProjects
        need the argo-cd release's CRD, the Applications need the projects."""
        config = ctx.config
        gitops = config.gitops
        team_applications = gitops.applications_namespace
        return ManifestBundle(
            stack,
            "argocd-projects",
            props=ManifestBundleProps(
                release_name="argocd-projects",
                namespace=ctx.namespace(ARGOCD_NAMESPACE),
                manifests=[
                    app_project(
                        name=PLATFORM_PROJECT,
                        namespace=ARGOCD_NAMESPACE,
                        description="The platform's apps, written by Terraform into argocd",
                        source_repos=[
                            repo
                            for service in ctx.services
                            for repo in service.platform_project_sources(config)
                        ],
                        destination_namespaces=[
                            namespace
                            for service in ctx.services
                            for namespace in service.platform_project_destinations(config)
                        ],
                        # Charts bring ClusterRoles (JupyterHub's scheduler) and CRDs.
                        cluster_resources=True,
                    ),
                    app_project(
                        name=TEAM_PROJECT,
                        namespace=ARGOCD_NAMESPACE,
                        description="The team's GitOps repository (root app-of-apps)",
                        source_repos=[gitops.repo_url],
                        destination_namespaces=[team_applications, *gitops.namespaces],
                        # Nothing cluster-scoped, not even its Namespaces: the
                        # platform creates them (tenancy.py). CreateNamespace=true
                        # on an existing namespace makes no Namespace task
                        # (Argo CD v3.4.4 controller/sync_namespace.go:27);
                        # managedNamespaceMetadata does, and is refused.
                        cluster_resources=False,
                        source_namespaces=[team_applications],
                        namespaced_kinds=TEAM_NAMESPACED_KINDS,
                    ),
                    *(
                        app_project(
                            name=name,
                            namespace=ARGOCD_NAMESPACE,
                            description=f"Team {name}: its repository, its namespaces",
                            source_repos=[team.repo_url, *team.chart_repositories],
                            destination_namespaces=team_namespaces(name, team),
                            cluster_resources=False,
                            source_namespaces=[applications_namespace(name)],
                            namespaced_kinds=TEAM_NAMESPACED_KINDS,
                        )
                        for name, team in config.teams.items()
                    ),
                ],
                provider=ctx.helm,
                depends_on=[argocd.release],
                namespaces=ctx.namespace_references,
            ),
        )

    def _self_management(
        self,
        stack: PlatformStack,
        ctx: BootstrapContext,
        argocd: HelmChartRelease,
        projects: ManifestBundle,
    ) -> None:
        """Argo CD manages itself from the very chart, version and values the
        release installed (one definition: argocd.values), after that release
        is ready (wait = true). docs/architecture.md: ownership.

        Upgrade order: Terraform upgrades the argo-cd release, then rewrites
        this Application (it depends on the release, whose CRD it needs on a
        fresh cluster). Between the two the Application still holds the old
        definition, so it must not sync on drift: selfHeal is off. Argo CD
        v3.4.4 (443415b) controller/appcontroller.go, autoSync:
          2251 alreadyAttempted, ... := alreadyAttemptedSync(app, desiredRevisions, ...)
          2253 if alreadyAttempted {
          2254     if !lastAttemptedPhase.Successful() { ... return SyncError condition }
          2259     if !app.Spec.SyncPolicy.Automated.GetSelfHeal() {
          2260         logCtx.Infof("Skipping auto-sync: most recent sync already to %s", ...)
          2261         return nil, 0
        and alreadyAttemptedSync compares the Application's source with the
        last sync's (the chart version is the revision, line 2354):
          2366 return reflect.DeepEqual(app.Spec.GetSource(),
                   app.Status.OperationState.SyncResult.Source), ...
        So the live objects drifting from the old definition (the upgrade in
        progress) start no sync; Terraform writing the new definition does,
        and that sync applies what the release just installed. A fresh
        Application has no OperationState (alreadyAttemptedSync returns
        false) and syncs once: the first adoption."""
        ArgoApp(
            stack,
            "app-argo-cd",
            props=ArgoAppProps(
                name="argo-cd",
                destination_namespace=ctx.namespace(ARGOCD_NAMESPACE),
                source=HelmChartSource(
                    repo_url=ARGO_CD.repository,
                    chart=ARGO_CD.chart,
                    version=ARGO_CD.version,
                    values=argocd.values,
                    # Terraform's release name: same labels, same object names.
                    release_name="argo-cd",
                ),
                argocd_namespace=ctx.namespace(ARGOCD_NAMESPACE),
                provider=ctx.helm,
                depends_on=[argocd.release, projects.release],
                project=PLATFORM_PROJECT,
                cascade_delete=False,
                self_heal=False,
            ),
        )

    def _team_root(
        self, stack: PlatformStack, ctx: BootstrapContext, admission: ManifestBundle
    ) -> None:
        """The GitOps bridge (the platform's cloud facts on Argo CD's in-cluster
        registration, for the team's ApplicationSets), then the team's root app,
        after the admission policies that hold its namespaces."""
        config = ctx.config
        annotations: dict[str, str] = {}
        for service in ctx.services:
            annotations.update(service.facts(config))
        facts = ClusterFacts(labels=self._literal_facts(config), annotations=annotations)
        registration = SecretV1(
            stack,
            "argocd-cluster-in-cluster",
            provider=ctx.kubernetes,
            metadata={
                "name": "argocd-cluster-in-cluster",
                "namespace": ctx.namespace(ARGOCD_NAMESPACE),
                "labels": {**facts.labels, **CLUSTER_SECRET_LABEL},
                "annotations": dict(facts.annotations),
            },
            # No credentials: for this address Argo CD uses its own service account.
            data={
                "name": IN_CLUSTER_NAME,
                "server": IN_CLUSTER_SERVER,
                "config": '{"tlsClientConfig":{"insecure":false}}',
            },
        )
        ArgoApp(
            stack,
            "app-root",
            props=ArgoAppProps(
                name="root",
                # Not argocd: the team's Applications land in their own
                # namespace, where only the team project may be used.
                destination_namespace=ctx.namespace(config.gitops.applications_namespace),
                source=GitPathSource(
                    repo_url=config.gitops.repo_url,
                    revision=config.gitops.revision,
                    path=config.gitops.path,
                ),
                argocd_namespace=ctx.namespace(ARGOCD_NAMESPACE),
                provider=ctx.helm,
                # The team's ApplicationSets read the facts from their first sync.
                depends_on=[
                    *ctx.stages.after(self.name, "argocd-ready"),
                    registration,
                    admission.release,
                ],
                project=TEAM_PROJECT,
            ),
        )

    def _teams(
        self, stack: PlatformStack, ctx: BootstrapContext, admission: ManifestBundle
    ) -> None:
        """Each of `teams`: quotas in its namespaces, then its root Application
        (project = the team) writing into <team>-apps, after admission."""
        config = ctx.config
        if not config.teams:
            return
        quotas = ManifestBundle(
            stack,
            "team-quotas",
            props=ManifestBundleProps(
                release_name="team-quotas",
                namespace=ctx.namespace(ARGOCD_NAMESPACE),
                manifests=[
                    obj
                    for name, team in config.teams.items()
                    for namespace in team_namespaces(name, team)
                    for obj in tenancy.quota_objects(namespace, team.quota)
                ],
                provider=ctx.helm,
                depends_on=[],
                namespaces=ctx.namespace_references,
            ),
        )
        for name, team in config.teams.items():
            ArgoApp(
                stack,
                f"app-root-{name}",
                props=ArgoAppProps(
                    name=f"root-{name}",
                    destination_namespace=ctx.namespace(applications_namespace(name)),
                    source=GitPathSource(
                        repo_url=team.repo_url, revision=team.revision, path=team.path
                    ),
                    argocd_namespace=ctx.namespace(ARGOCD_NAMESPACE),
                    provider=ctx.helm,
                    depends_on=[
                        *ctx.stages.after(self.name, "argocd-ready"),
                        admission.release,
                        quotas.release,
                    ],
                    project=name,
                ),
            )
