# Sourced by the operator scripts (tools/deploy.sh, tools/state_bucket.sh).
#
#   gcloud_or_hint HINT ARGS...
#
# Runs `gcloud ARGS...` with its stderr held back in a file (not a pipe: a
# command such as `gcloud compute ssh ... -f` leaves a background process
# holding it). On failure: HINT first (one line: what failed, what to check),
# then the last GCLOUD_TEXT_LINES lines of gcloud's own text, indented, and the
# status. On success gcloud's text (warnings, progress) is printed as is.
# Prompts that gcloud's tools read from the terminal (ssh-keygen's passphrase)
# still reach the terminal.

#: How much of gcloud's text a failure shows after the hint (its last lines hold the ERROR).
GCLOUD_TEXT_LINES=${GCLOUD_TEXT_LINES:-10}

gcloud_or_hint() {
  local hint=$1
  shift
  local text status=0
  text=$(mktemp "${TMPDIR:-/tmp}/gcloud-stderr.XXXXXX")
  gcloud "$@" 2>"$text" || status=$?
  if ((status == 0)); then
    cat "$text" >&2
  else
    echo "$hint" >&2
    local total
    total=$(wc -l <"$text")
    if ((total > GCLOUD_TEXT_LINES)); then
      echo "  (gcloud's last $GCLOUD_TEXT_LINES of $total lines:)" >&2
    fi
    tail -n "$GCLOUD_TEXT_LINES" "$text" | sed 's/^/  /' >&2
  fi
  rm -f "$text"
  return "$status"
}
