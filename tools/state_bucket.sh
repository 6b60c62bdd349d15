#!/usr/bin/env bash
# `make state-bucket`: the versioned, private GCS bucket for Terraform state.
#
# A bad config is refused first (exit 2, the validation error printed once)
# with no gcloud call. The project, bucket and region come from the validated
# config, read in the same single load (`python -m platform_config
# --print-facts`), and reach gcloud as single arguments (no eval, no string
# building).
# The example config's placeholder project is refused the same way (the
# checker's --print-facts), so nothing is created for it.
# A failed create stops here: versioning is only set on a bucket that exists.
# A failed gcloud call prints this script's one-line hint first, then the end
# of gcloud's own text (tools/gcloud_hint.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
# shellcheck source=tools/gcloud_hint.sh
source tools/gcloud_hint.sh

# One load: the "config OK" line (or the error) on stderr, three facts on stdout.
facts=$("$PYTHON" -m platform_config --print-facts project_id state_bucket region) || exit 2
{
  read -r project
  read -r bucket
  read -r region
} <<<"$facts"

if ! command -v gcloud >/dev/null 2>&1; then
  echo "state_bucket.sh: gcloud is not installed" >&2
  exit 1
fi
if gcloud storage buckets describe "gs://$bucket" --project "$project" >/dev/null 2>&1; then
  echo "gs://$bucket exists"
elif ! gcloud_or_hint "state_bucket.sh: could not create gs://$bucket in project $project\
 (logged in? \`gcloud auth login\`; name taken? bucket names are global)" \
  storage buckets create "gs://$bucket" --project "$project" --location "$region" \
  --uniform-bucket-level-access --public-access-prevention; then
  exit 1
fi
if ! gcloud_or_hint "state_bucket.sh: could not turn on versioning of gs://$bucket\
 (may your account update buckets in project $project? roles/storage.admin)" \
  storage buckets update "gs://$bucket" --versioning --project "$project"; then
  exit 1
fi
echo "gs://$bucket: versioned, uniform access, public access prevented"
