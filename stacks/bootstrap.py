"""bootstrap stack: Istio, External Secrets, Argo CD, the IAP door, the apps.

Install order (each arrow a depends_on, so one `cdktf deploy` works on a
fresh cluster; no custom resource is planned before its CRD exists):

  namespaces -> istio-base -> istiod -> istio-gateway -> iap-ingress CRs -> Ingress
  external-secrets (wait for webhook) -> external-secrets-config CRs (store,
    ExternalSecrets, Password generators for the apps' own secrets) -> Applications
  mlflow namespace -> mlflow-database-grant (hook Job: the grant) -> app-mlflow
  istiod + external-secrets-config -> argo-cd -> argocd-projects (AppProjects)
    -> Applications (argocd-apps; argo-cd's own after its release is ready)
  in-cluster registration Secret (cloud facts) -> app-root
  istiod -> mesh-policies CRs (mTLS STRICT, deny by default, one ALLOW per workload)
  namespace -> everything in it (a reference to the namespace, never its literal name)
  certificate per host -> Ingress (listed only once created; dropped before deleted)
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import ITerraformDependable, TerraformOutput
from cdktf_cdktf_provider_google.data_google_project import DataGoogleProject
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1
from cdktf_cdktf_provider_kubernetes.secret_v1 import SecretV1
from cdktf_cdktf_provider_kubernetes.service_account_v1 import ServiceAccountV1
from constructs import Construct

from platform_builders.helm_values import load_values
from platform_builders.workloads import Workload
from platform_config import AppConfig, PlatformConfig
from platform_constructs.argo_app import ArgoApp, ArgoAppProps, GitPathSource, HelmChartSource
from platform_constructs.cluster_access import ClusterAccess, ClusterAccessProps
from platform_constructs.helm_chart_release import HelmChartRelease, HelmChartReleaseProps
from platform_constructs.iap_ingress import (
    IapIngress,
    IapIngressProps,
    RouteTarget,
    gateway_service_annotations,
)
from platform_constructs.manifest_bundle import ManifestBundle, ManifestBundleProps
from platform_services.argocd.charts import ARGO_CD
from platform_services.argocd.cluster_facts import (
    CLUSTER_SECRET_LABEL,
    IN_CLUSTER_NAME,
    IN_CLUSTER_SERVER,
    ClusterFacts,
    fact_key,
)
from platform_services.argocd.projects import PLATFORM_PROJECT, TEAM_PROJECT, app_project
from platform_services.argocd.values import (
    ARGOCD_SERVER_SERVICE,
    OIDC_CLIENT_SECRET,
    argocd_values,
)
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
from platform_services.external_secrets.charts import EXTERNAL_SECRETS
from platform_services.istio import mesh
from platform_services.istio.charts import ISTIO_BASE, ISTIO_GATEWAY, ISTIOD
from platform_services.istio.workloads import GATEWAY, GATEWAY_NAMESPACE, GATEWAY_RELEASE
from platform_services.jupyterhub.values import (
    HUB_SECRET_KEYS,
    HUB_SECRET_NAME,
    JUPYTER_USER_SERVICE_ACCOUNT,
    JUPYTERHUB_IGNORE_DIFFERENCES,
    GpuPool,
    jupyterhub_values,
)
from platform_services.jupyterhub.workloads import jupyterhub_workloads
from platform_services.mlflow.cloud import DATABASE_NAME
from platform_services.mlflow.database_grant import grant_job_manifests
from platform_services.mlflow.values import (
    MLFLOW_FLASK_SECRET_KEY,
    MLFLOW_FLASK_SECRET_NAME,
    mlflow_values,
)
from platform_services.mlflow.workloads import mlflow_workload
from stacks.base import PlatformStack
from stacks.cluster import EXTERNAL_SECRETS_KSA, MLFLOW_SERVICE_ACCOUNT, ClusterStack
from stacks.network import NetworkStack

ISTIO_NAMESPACE = "istio-system"
#: Apps whose policies are spelled out workload by workload below.
BUILT_IN_APPS = frozenset({"jupyterhub", "mlflow"})
REPO_SECRET = "argocd-repo-gitops"


class BootstrapStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        *,
        config: PlatformConfig,
        network: NetworkStack,
        cluster: ClusterStack,
    ) -> None:
        super().__init__(scope, "bootstrap", config=config)
        gke = cluster.gke
        bastion = gke.bastion
        access = ClusterAccess(
            self,
            "cluster-access",
            props=ClusterAccessProps(
                endpoint=gke.endpoint,
                ca_certificate=gke.ca_certificate if bastion is not None else None,
                proxy_url=bastion.proxy_url if bastion is not None else None,
            ),
        )
        helm, kubernetes = access.helm, access.kubernetes
        apps = config.apps.enabled()

        # ---- namespaces: sidecars wherever the gateway or apps talk mTLS
        app_namespaces = config.app_namespaces
        #: The team's Application objects live here (no pods: no sidecars).
        team_applications = config.gitops.applications_namespace
        injected = {GATEWAY_NAMESPACE, ARGOCD_NAMESPACE} | set(app_namespaces.values())
        namespaces = {
            name: NamespaceV1(
                self,
                f"namespace-{name}",
                provider=kubernetes,
                metadata={
                    "name": name,
                    "labels": {"istio-injection": "enabled" if name in injected else "disabled"},
                },
            )
            for name in sorted(
                {ISTIO_NAMESPACE, EXTERNAL_SECRETS_KSA.namespace, team_applications} | injected
            )
        }

        def ns(name: str) -> str:
            reference: str = namespaces[name].metadata.name
            return reference

        #: Every namespace by name -> a reference to it: objects written into a
        #: namespace depend on it (created after it, destroyed before it).
        namespace_references = {name: ns(name) for name in namespaces}

        def release(id_: str, props: HelmChartReleaseProps) -> HelmChartRelease:
            return HelmChartRelease(self, id_, props=props)

        # ---- Istio: CRDs, control plane, ingress gateway
        istio_base = release(
            "istio-base",
            HelmChartReleaseProps(
                chart=ISTIO_BASE,
                release_name="istio-base",
                namespace=ns(ISTIO_NAMESPACE),
                provider=helm,
            ),
        )
        istiod = release(
            "istiod",
            HelmChartReleaseProps(
                chart=ISTIOD,
                release_name="istiod",
                namespace=ns(ISTIO_NAMESPACE),
                provider=helm,
                depends_on=[istio_base.release],
            ),
        )
        gateway = release(
            "istio-gateway",
            HelmChartReleaseProps(
                chart=ISTIO_GATEWAY,
                release_name=GATEWAY_RELEASE,
                namespace=ns(GATEWAY_NAMESPACE),
                provider=helm,
                computed_values={
                    "service": {"type": "ClusterIP", "annotations": gateway_service_annotations()}
                },
                depends_on=[istiod.release],
            ),
        )

        # ---- External Secrets: operator (webhook ready), then its objects
        external_secrets = release(
            "external-secrets",
            HelmChartReleaseProps(
                chart=EXTERNAL_SECRETS,
                release_name="external-secrets",
                namespace=ns(EXTERNAL_SECRETS_KSA.namespace),
                provider=helm,
                computed_values={
                    "serviceAccount": {
                        "name": EXTERNAL_SECRETS_KSA.name,
                        "annotations": {
                            "iam.gke.io/gcp-service-account": (
                                cluster.external_secrets_identity.email
                            )
                        },
                    }
                },
            ),
        )
        secret_objects = [
            eso.cluster_secret_store(
                project_id=config.project_id,
                cluster_name=gke.cluster.name,
                cluster_location=gke.cluster.location,
                service_account_name=EXTERNAL_SECRETS_KSA.name,
                service_account_namespace=EXTERNAL_SECRETS_KSA.namespace,
                # Repository credentials and the OIDC client: Argo CD's only.
                namespaces=[ARGOCD_NAMESPACE],
            )
        ]
        if "repo-credentials" in cluster.secrets:
            keys = (
                ("username", "password")
                if config.gitops.repo_url.startswith("https://")
                else ("sshPrivateKey",)
            )
            secret_objects.append(
                eso.external_secret(
                    name="gitops-repository",
                    namespace=ns(ARGOCD_NAMESPACE),
                    secret_id=cluster.secrets["repo-credentials"].secret_id,
                    target_name=REPO_SECRET,
                    labels={"argocd.argoproj.io/secret-type": "repository"},
                    data={
                        "type": "git",
                        "url": config.gitops.repo_url,
                        **{key: "{{ ." + key + " }}" for key in keys},
                    },
                )
            )
        if "oidc-client" in cluster.secrets:
            secret_objects.append(
                eso.external_secret(
                    name="argocd-oidc-client",
                    namespace=ns(ARGOCD_NAMESPACE),
                    secret_id=cluster.secrets["oidc-client"].secret_id,
                    target_name=OIDC_CLIENT_SECRET,
                    # Argo CD only resolves $<secret>:<key> from Secrets it owns.
                    labels={"app.kubernetes.io/part-of": "argocd"},
                    data={"clientID": "{{ .clientID }}", "clientSecret": "{{ .clientSecret }}"},
                )
            )
        # Generated once in the cluster, never in Git or Terraform state: the
        # apps' own secrets that their charts would re-randomize on every render.
        generated: dict[str, tuple[str, tuple[str, ...]]] = {
            "jupyterhub": (HUB_SECRET_NAME, HUB_SECRET_KEYS),
            "mlflow": (MLFLOW_FLASK_SECRET_NAME, (MLFLOW_FLASK_SECRET_KEY,)),
        }
        for app_name, (secret_name, secret_keys) in generated.items():
            if app_name not in apps:
                continue
            namespace = ns(app_namespaces[app_name])
            secret_objects += [
                eso.password_generator(name=secret_name, namespace=namespace, keys=secret_keys),
                eso.generated_secret(
                    name=secret_name,
                    namespace=namespace,
                    generator_name=secret_name,
                    target_name=secret_name,
                ),
            ]
        secrets_config = ManifestBundle(
            self,
            "external-secrets-config",
            props=ManifestBundleProps(
                release_name="external-secrets-config",
                namespace=ns(EXTERNAL_SECRETS_KSA.namespace),
                manifests=secret_objects,
                provider=helm,
                depends_on=[external_secrets.release],
                namespaces=namespace_references,
            ),
        )

        # ---- mesh policies: mTLS everywhere apps live; header-trusting
        #      workloads accept traffic from the gateway only
        mesh_policies = ManifestBundle(
            self,
            "mesh-policies",
            props=ManifestBundleProps(
                release_name="mesh-policies",
                namespace=ns(ISTIO_NAMESPACE),
                manifests=[*self._mesh_policies(config, apps), *self._network_policies(config)],
                provider=helm,
                depends_on=[istiod.release],
                # Writes into argocd and every app namespace, not just its own.
                namespaces=namespace_references,
            ),
        )

        if config.apps.jupyterhub.enabled:
            # User servers run as this identity, which the mesh keeps away
            # from the hub's sign-in handler; no Kubernetes API token mounted.
            ServiceAccountV1(
                self,
                "jupyter-user-service-account",
                provider=kubernetes,
                metadata={
                    "name": JUPYTER_USER_SERVICE_ACCOUNT,
                    "namespace": ns(app_namespaces["jupyterhub"]),
                },
                automount_service_account_token=False,
            )

        # ---- Argo CD, then the Applications it runs
        argocd = release(
            "argo-cd",
            HelmChartReleaseProps(
                chart=ARGO_CD,
                release_name="argo-cd",
                namespace=ns(ARGOCD_NAMESPACE),
                provider=helm,
                computed_values=argocd_values(
                    host=config.argocd_host,
                    admins=config.access.argocd_admins,
                    default_role=config.access.argocd_default_role,
                    sign_in=config.access.argocd_sign_in,
                    identity_header=mesh.IDENTITY_HEADER,
                    team_applications_namespace=team_applications,
                ),
                depends_on=[istiod.release, secrets_config.release, mesh_policies.release],
                timeout_seconds=900,
            ),
        )
        # Each Application in its lane (docs/architecture.md): the AppProjects
        # need the argo-cd release's CRD, the Applications need the projects.
        projects = ManifestBundle(
            self,
            "argocd-projects",
            props=ManifestBundleProps(
                release_name="argocd-projects",
                namespace=ns(ARGOCD_NAMESPACE),
                manifests=[
                    app_project(
                        name=PLATFORM_PROJECT,
                        namespace=ARGOCD_NAMESPACE,
                        description="The platform's apps, written by Terraform into argocd",
                        source_repos=[
                            ARGO_CD.repository,
                            *(app.chart_repo for app in apps.values()),
                        ],
                        destination_namespaces=[
                            ARGOCD_NAMESPACE,
                            *(app_namespaces[name] for name in apps),
                        ],
                        # Charts bring ClusterRoles (JupyterHub's scheduler) and CRDs.
                        cluster_resources=True,
                    ),
                    app_project(
                        name=TEAM_PROJECT,
                        namespace=ARGOCD_NAMESPACE,
                        description="The team's GitOps repository (root app-of-apps)",
                        source_repos=[config.gitops.repo_url],
                        destination_namespaces=[team_applications, *config.gitops.namespaces],
                        cluster_resources=config.gitops.cluster_resources,
                        # CreateNamespace=true for the team's own namespaces only.
                        creatable_namespaces=config.gitops.namespaces,
                        source_namespaces=[team_applications],
                    ),
                ],
                provider=helm,
                depends_on=[argocd.release],
                namespaces=namespace_references,
            ),
        )
        app_dependencies = [argocd.release, secrets_config.release, projects.release]

        # The GitOps bridge: the platform's cloud facts on Argo CD's in-cluster
        # registration, for the team's ApplicationSets (cluster generator).
        facts = self._cluster_facts(config, cluster)
        cluster_registration = SecretV1(
            self,
            "argocd-cluster-in-cluster",
            provider=kubernetes,
            metadata={
                "name": "argocd-cluster-in-cluster",
                "namespace": ns(ARGOCD_NAMESPACE),
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
        # ---- MLflow's database grant, inside the deploy (before MLflow starts)
        extra_dependencies: dict[str, list[ITerraformDependable]] = {}
        storage = cluster.mlflow
        if "mlflow" in apps and storage is not None and storage.grant_identity is not None:
            grant = ManifestBundle(
                self,
                "mlflow-database-grant",
                props=ManifestBundleProps(
                    release_name="mlflow-database-grant",
                    namespace=ns(app_namespaces["mlflow"]),
                    manifests=grant_job_manifests(
                        namespace=ns(app_namespaces["mlflow"]),
                        gcp_service_account=storage.grant_identity.email_address,
                        project_id=config.project_id,
                        instance=storage.instance_name,
                        connection_name=storage.instance_connection_name,
                        database=DATABASE_NAME,
                        database_user=storage.database_user_name,
                    ),
                    provider=helm,
                    depends_on=[namespaces[app_namespaces["mlflow"]]],
                    # Two Cloud SQL user updates and the proxy's start.
                    timeout_seconds=900,
                ),
            )
            extra_dependencies["mlflow"] = [grant.release]
        for name, app in apps.items():
            ArgoApp(
                self,
                f"app-{name}",
                props=ArgoAppProps(
                    name=name,
                    destination_namespace=ns(app_namespaces[name]),
                    source=HelmChartSource(
                        repo_url=app.chart_repo,
                        chart=app.chart,
                        version=app.chart_version,
                        values=self._app_values(name, app, config, cluster),
                    ),
                    argocd_namespace=ns(ARGOCD_NAMESPACE),
                    provider=helm,
                    depends_on=[
                        *app_dependencies,
                        namespaces[app_namespaces[name]],
                        *extra_dependencies.get(name, []),
                    ],
                    project=PLATFORM_PROJECT,
                    ignore_differences=(
                        JUPYTERHUB_IGNORE_DIFFERENCES if name == "jupyterhub" else ()
                    ),
                ),
            )
        # Argo CD manages itself from the very chart, version and values the
        # release above installed (one definition: argocd.values), after that
        # release is ready (wait = true). docs/architecture.md: ownership.
        ArgoApp(
            self,
            "app-argo-cd",
            props=ArgoAppProps(
                name="argo-cd",
                destination_namespace=ns(ARGOCD_NAMESPACE),
                source=HelmChartSource(
                    repo_url=ARGO_CD.repository,
                    chart=ARGO_CD.chart,
                    version=ARGO_CD.version,
                    values=argocd.values,
                    # Terraform's release name: same labels, same object names.
                    release_name="argo-cd",
                ),
                argocd_namespace=ns(ARGOCD_NAMESPACE),
                provider=helm,
                depends_on=[argocd.release, projects.release],
                project=PLATFORM_PROJECT,
                cascade_delete=False,
            ),
        )
        ArgoApp(
            self,
            "app-root",
            props=ArgoAppProps(
                name="root",
                # Not argocd: the team's Applications land in their own
                # namespace, where only the team project may be used.
                destination_namespace=ns(team_applications),
                source=GitPathSource(
                    repo_url=config.gitops.repo_url,
                    revision=config.gitops.revision,
                    path=config.gitops.path,
                ),
                argocd_namespace=ns(ARGOCD_NAMESPACE),
                provider=helm,
                # The team's ApplicationSets read the facts from their first sync.
                depends_on=[*app_dependencies, cluster_registration],
                project=TEAM_PROJECT,
            ),
        )

        # ---- the door: load balancer + IAP -> gateway -> one route per host
        routes = {
            config.argocd_host: RouteTarget(
                service=ARGOCD_SERVER_SERVICE, namespace=ARGOCD_NAMESPACE, port=80
            )
        }
        for name, app in apps.items():
            routes[config.app_hosts[name]] = RouteTarget(
                service=app.service, namespace=app_namespaces[name], port=app.service_port
            )
        project = DataGoogleProject(self, "project", project_id=config.project_id)
        IapIngress(
            self,
            "iap-ingress",
            props=IapIngressProps(
                namespace=ns(GATEWAY_NAMESPACE),
                gateway_service=GATEWAY_RELEASE,
                gateway_selector=GATEWAY.selector,
                routes=routes,
                static_ip_name=network.ingress_ip.name,
                certificate_domains=config.certificate_domains,
                project_number=project.number,
                helm_provider=helm,
                kubernetes_provider=kubernetes,
                depends_on=[istiod.release, gateway.release],
                backend_timeout_seconds=config.ingress.backend_timeout_seconds,
                connection_draining_seconds=config.ingress.connection_draining_seconds,
            ),
        )

        TerraformOutput(self, "argocd_url", value=f"https://{config.argocd_host}")
        TerraformOutput(
            self,
            "app_urls",
            value={name: f"https://{host}" for name, host in config.app_hosts.items()},
        )
        self.next_step(self._remaining_steps(config, network, cluster))

    @staticmethod
    def _cluster_facts(config: PlatformConfig, cluster: ClusterStack) -> ClusterFacts:
        """What the team's apps need to know about the platform (README: GitOps facts)."""
        literal = {
            "environment": config.environment,
            "gcp_project_id": config.project_id,
            "gcp_region": config.region,
        }
        annotations = {
            **literal,
            "domain": config.domain,
            "argocd_host": config.argocd_host,
            "gke_cluster_name": config.names.gke_cluster,
            "gke_cluster_location": config.region,
            "gitops_repo_url": config.gitops.repo_url,
            "gitops_revision": config.gitops.revision,
            "team_applications_namespace": config.gitops.applications_namespace,
            "external_secrets_gcp_service_account": cluster.external_secrets_identity.email_address,
        }
        for name, host in config.app_hosts.items():
            annotations[fact_key("host", name)] = host
            annotations[fact_key("namespace", name)] = config.app_namespaces[name]
        if cluster.mlflow is not None:
            storage = cluster.mlflow
            annotations |= {
                "mlflow_gcp_service_account": storage.identity.email_address,
                "mlflow_bucket": storage.bucket_name,
                "mlflow_cloudsql_connection_name": storage.instance_connection_name,
            }
        return ClusterFacts(labels=literal, annotations=annotations)

    @staticmethod
    def _remaining_steps(
        config: PlatformConfig, network: NetworkStack, cluster: ClusterStack
    ) -> str:
        """The last output of `make deploy`: every step left, in order, from the
        same objects that created the secrets and DNS records."""
        steps = [
            f"add the secret {name}: {secret.fill_command}"
            for name, secret in sorted(cluster.secrets.items())
        ]
        steps += [f"create the DNS record {record}" for record in network.dns.records_to_create]
        steps.append(
            f"open https://{config.argocd_host} and sign in as a member of access.iap_members "
            "(certificates turn ACTIVE once DNS points at the ingress IP, up to an hour)"
        )
        return (
            "Platform installed. Left to do, in order: "
            + " ".join(
                f"({number}) {step};" for number, step in enumerate(steps, start=1)
            ).removesuffix(";")
            + "."
        )

    @staticmethod
    def _mesh_policies(config: PlatformConfig, apps: dict[str, AppConfig]) -> list[mesh.Manifest]:
        """Reachability, explicit: mTLS everywhere apps live, deny by default in
        each platform namespace, one ALLOW per workload naming its callers
        (docs/security.md holds the same table; tests evaluate these policies)."""
        namespaces = sorted({ARGOCD_NAMESPACE} | set(config.app_namespaces.values()))
        policies = [mesh.strict_mtls(namespace=namespace) for namespace in namespaces]
        policies += [mesh.allow_nothing(namespace=namespace) for namespace in namespaces]

        def allow(
            target: Workload, *callers: mesh.Caller, ports: Sequence[int] = (), name: str = ""
        ) -> None:
            policies.append(
                mesh.allow(
                    name=name or f"{target.name}-callers",
                    namespace=target.namespace,
                    selector=target.selector,
                    ports=ports or target.ports,
                    callers=callers,
                )
            )

        def by(*workloads: Workload, paths: Sequence[str] = ()) -> mesh.Caller:
            return mesh.Caller(principals=[w.principal for w in workloads], paths=paths)

        # Argo CD: the UI/API from the gateway; Dex only behind argocd-server
        # (its authproxy connector trusts headers); repo-server and Redis only
        # from the components that use them (the chart's NetworkPolicies agree).
        allow(ARGOCD_SERVER, by(GATEWAY))
        allow(ARGOCD_DEX, by(ARGOCD_SERVER))
        allow(
            ARGOCD_REPO_SERVER,
            by(ARGOCD_CONTROLLER, ARGOCD_SERVER, ARGOCD_APPLICATIONSET, ARGOCD_NOTIFICATIONS),
        )
        allow(ARGOCD_REDIS, by(ARGOCD_SERVER, ARGOCD_CONTROLLER, ARGOCD_REPO_SERVER))

        notebooks: list[Workload] = []
        if config.apps.jupyterhub.enabled:
            hub = jupyterhub_workloads(config.app_namespaces["jupyterhub"])
            proxy, hub_pod, user = hub["proxy"], hub["hub"], hub["user"]
            # Browser traffic enters at the proxy only; the hub configures its routes.
            allow(proxy, by(GATEWAY), ports=[8000])
            allow(proxy, by(hub_pod), ports=[8001], name=f"{proxy.name}-api-callers")
            # The hub's sign-in handler trusts the identity header: only the
            # proxy forwards to it. User servers (arbitrary user code) may use
            # the hub's REST API with their own token, nothing else.
            allow(hub_pod, by(proxy), by(user, paths=["/hub/api/*"]))
            allow(user, by(proxy, hub_pod))
            notebooks.append(user)

        if config.apps.mlflow.enabled:
            # Notebooks log runs to MLflow from inside the cluster.
            allow(
                mlflow_workload(config.app_namespaces["mlflow"], MLFLOW_SERVICE_ACCOUNT),
                by(GATEWAY),
                *([by(*notebooks)] if notebooks else []),
            )

        for name, app in apps.items():
            if name in BUILT_IN_APPS:
                continue
            namespace = config.app_namespaces[name]
            # Apps that trust the identity header take traffic from the gateway
            # only; others also from their own namespace (multi-pod charts).
            callers = [by(GATEWAY)]
            if not app.trusts_identity_header:
                callers.append(mesh.Caller(namespaces=[namespace]))
            policies.append(
                mesh.allow(
                    name=f"{name}-callers",
                    namespace=namespace,
                    selector=None,
                    ports=(),
                    callers=callers,
                )
            )
        return policies

    @staticmethod
    def _network_policies(config: PlatformConfig) -> list[mesh.Manifest]:
        """Second layer, enforced by Dataplane V2 below the mesh (Argo CD's and
        JupyterHub's come from their charts)."""
        gateway_pods = {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": GATEWAY_NAMESPACE}
            },
            "podSelector": {"matchLabels": dict(GATEWAY.selector)},
        }
        policies = [
            mesh.network_policy(
                name="gateway-from-google-load-balancer",
                namespace=GATEWAY_NAMESPACE,
                selector=GATEWAY.selector,
                ports=[*GATEWAY.ports, mesh.HEALTH_CHECK_PORT],
                sources=[{"ipBlock": {"cidr": cidr}} for cidr in mesh.GOOGLE_LOAD_BALANCER_RANGES],
            )
        ]
        if config.apps.mlflow.enabled:
            mlflow = mlflow_workload(config.app_namespaces["mlflow"], MLFLOW_SERVICE_ACCOUNT)
            sources = [gateway_pods]
            if config.apps.jupyterhub.enabled:
                user = jupyterhub_workloads(config.app_namespaces["jupyterhub"])["user"]
                sources.append(
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": user.namespace}
                        },
                        "podSelector": {"matchLabels": dict(user.selector)},
                    }
                )
            policies.append(
                mesh.network_policy(
                    name="mlflow-callers",
                    namespace=mlflow.namespace,
                    selector=mlflow.selector,
                    ports=mlflow.ports,
                    sources=sources,
                )
            )
        return policies

    @staticmethod
    def _app_values(
        name: str, app: AppConfig, config: PlatformConfig, cluster: ClusterStack
    ) -> dict[str, object]:
        if name == "jupyterhub":
            hub = config.apps.jupyterhub
            return jupyterhub_values(
                values_file=hub.values_file,
                admin_users=hub.admin_users,
                storage_size=hub.storage_size,
                cull_idle_minutes=hub.cull_idle_minutes,
                gpu_pools=[
                    GpuPool(pool=pool.name, accelerator=pool.gpu.type, count=pool.gpu.count)
                    for pool in config.cluster.node_pools
                    if pool.gpu is not None
                ],
                identity_header=mesh.IDENTITY_HEADER,
                proxy_principal=jupyterhub_workloads(config.app_namespaces[name])[
                    "proxy"
                ].principal,
            )
        if name == "mlflow" and cluster.mlflow is not None:
            storage = cluster.mlflow
            return mlflow_values(
                values_file=config.apps.mlflow.values_file,
                # The account Workload Identity trusts, in the app's namespace.
                service_account_name=storage.kubernetes_service_account.name,
                gcp_service_account=storage.identity.email_address,
                artifact_bucket=storage.bucket_name,
                sql_instance_connection_name=storage.instance_connection_name,
                database=DATABASE_NAME,
                database_user=storage.database_user_name,
                public_host=config.app_hosts[name],
            )
        return load_values(app.values_file)
