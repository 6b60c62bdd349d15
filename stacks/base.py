"""What every stack shares: the GCS backend layout and the Google provider."""

from __future__ import annotations

from cdktf import GcsBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_google.provider import GoogleProvider
from constructs import Construct

from platform_config import PlatformConfig


class PlatformStack(TerraformStack):
    """A stack whose state lives at gs://<state_bucket>/<environment>/<stack>."""

    def __init__(self, scope: Construct, stack_name: str, *, config: PlatformConfig) -> None:
        super().__init__(scope, stack_name)
        self.config = config
        GcsBackend(self, bucket=config.state_bucket, prefix=f"{config.environment}/{stack_name}")
        self.google = GoogleProvider(
            self,
            "google",
            project=config.project_id,
            region=config.region,
            add_terraform_attribution_label=False,
        )
        # Set through an override, not the default_labels argument: cdktf
        # snake-cases every key of a provider's arguments (managed-by would
        # become managed_by, a__b a_b), while overrides are written verbatim.
        self.google.add_override("default_labels", config.default_labels)

    def next_step(self, text: str) -> TerraformOutput:
        """The one output that tells the operator what to do after this stack."""
        return TerraformOutput(self, "next_step", value=text, description="What to do next.")
