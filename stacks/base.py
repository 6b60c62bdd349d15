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
            default_labels={
                **config.labels,
                "managed-by": "cdktf",
                "environment": config.environment,
            },
            add_terraform_attribution_label=False,
        )

    def next_step(self, text: str) -> TerraformOutput:
        """The one output that tells the operator what to do after this stack."""
        return TerraformOutput(self, "next_step", value=text, description="What to do next.")
