"""ProjectServices: turn on the Google APIs the platform uses."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_google.project_service import ProjectService
from constructs import Construct

#: Every API a resource of the three stacks calls. Order is irrelevant;
#: sorted on use so the synthesized JSON is stable.
PLATFORM_APIS = (
    "artifactregistry.googleapis.com",
    "binaryauthorization.googleapis.com",
    "certificatemanager.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "dns.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "iap.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
)


class ProjectServices(Construct):
    """One google_project_service per API, never disabled on destroy.

    disable_on_destroy stays false: turning an API off on `destroy` would break
    anything else in the project that uses it.
    """

    def __init__(self, scope: Construct, id_: str, *, apis: Sequence[str] = PLATFORM_APIS) -> None:
        super().__init__(scope, id_)
        bad = [api for api in apis if not api.endswith(".googleapis.com")]
        if bad:
            raise ValueError(f"ProjectServices: not a Google API name: {', '.join(bad)}")
        self.services = {
            api: ProjectService(
                self,
                api.removesuffix(".googleapis.com"),
                service=api,
                disable_on_destroy=False,
                disable_dependent_services=False,
            )
            for api in sorted(set(apis))
        }
