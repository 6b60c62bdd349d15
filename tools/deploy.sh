#!/usr/bin/env bash
# `make deploy` / `make destroy` / `make plan`: the three stacks in one
# command, in either control plane access mode.
#
#   tools/deploy.sh deploy|destroy|plan [cdktf flags...]
#
# plan: `cdktf diff` of each stack in $STACKS (default: all three, in order),
# for review in a pull request; nothing changes.
# dns mode: one `cdktf deploy|destroy network cluster bootstrap`.
# bastion mode: bootstrap's providers reach the private endpoint through
# http://localhost:8888, the IAP tunnel to the bastion's tinyproxy. So:
#   deploy:  network + cluster, open the tunnel, bootstrap, close the tunnel;
#   destroy: open the tunnel, bootstrap, close the tunnel, cluster, network
#            (the bastion goes with the cluster stack).
# The tunnel is closed on every way out (success, failure, Ctrl-C, TERM).
# A bad config is refused first (exit 2) with no cloud call. The bastion's
# name, project and zone come from the validated config, read in the same
# single load (`python -m platform_config --print-facts`), each passed to
# gcloud as one argument (never through eval or a printed command). The
# example config's placeholder project is refused there too (one line, exit 2).
# A failed gcloud call prints this script's one-line hint first, then the end
# of gcloud's own text (tools/gcloud_hint.sh).
set -euo pipefail
# cdktf reads cdktf.json, and python imports platform_config, from the repository root.
cd "$(dirname "$0")/.."
# shellcheck source=tools/gcloud_hint.sh
source tools/gcloud_hint.sh

#: Must match IapBastion's PROXY_PORT (the providers' proxy_url); a test checks it.
PROXY_PORT=8888
#: How long to wait for tinyproxy behind the tunnel (it installs at the VM's first boot).
TUNNEL_READY_ATTEMPTS=${TUNNEL_READY_ATTEMPTS:-30}
TUNNEL_RETRY_SECONDS=${TUNNEL_RETRY_SECONDS:-10}
PYTHON=${PYTHON:-python}
CDKTF=${CDKTF:-cdktf}

usage() {
  echo "usage: $0 deploy|destroy|plan [cdktf flags...]" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
action=$1
shift
[[ $action == deploy || $action == destroy || $action == plan ]] || usage
flags=("$@")
read -r -a plan_stacks <<<"${STACKS:-network cluster bootstrap}"
for stack in "${plan_stacks[@]}"; do
  [[ $stack == network || $stack == cluster || $stack == bootstrap ]] || {
    echo "deploy.sh: unknown stack '$stack' in STACKS (network, cluster, bootstrap)" >&2
    exit 2
  }
done

# ---- the config first: a bad one stops here (exit 2), before any cloud call.
# One load validates it (the "config OK" line or the error on stderr) and
# prints four lines: access mode, bastion VM, project, zone (validated names).
facts=$("$PYTHON" -m platform_config --print-facts \
  control_plane_access bastion_vm project_id bastion_zone) || exit 2
{
  read -r access_mode
  read -r bastion_vm
  read -r project
  read -r zone
} <<<"$facts"

# ---- credentials next: fail before terraform starts, with the command to run.
# Terraform's google provider uses Application Default Credentials; the
# kubernetes and helm providers run gke-gcloud-auth-plugin on the gcloud login.
if ! command -v gcloud >/dev/null 2>&1; then
  echo "deploy.sh: gcloud is not installed (see README: Deploy walkthrough, prerequisites)" >&2
  exit 1
fi
if ! gcloud auth print-access-token >/dev/null 2>&1; then
  echo "deploy.sh: no gcloud login: run \`gcloud auth login\` first" >&2
  exit 1
fi
if ! gcloud auth application-default print-access-token >/dev/null 2>&1; then
  echo "deploy.sh: no Application Default Credentials for Terraform:" \
    "run \`gcloud auth application-default login\` first" >&2
  exit 1
fi

if [[ $access_mode != bastion && $action != plan ]]; then
  exec "$CDKTF" "$action" network cluster bootstrap "${flags[@]}"
fi

# ---- several cdktf calls: bastion mode (the tunnel around bootstrap), or plan
tunnel_dir=""
control_socket=""

close_tunnel() {
  if [[ -n $control_socket ]]; then
    echo "deploy.sh: closing the IAP tunnel" >&2
    ssh -o ControlPath="$control_socket" -O exit "$bastion_vm" >/dev/null 2>&1 || true
    control_socket=""
  fi
  if [[ -n $tunnel_dir ]]; then
    rm -rf "$tunnel_dir"
    tunnel_dir=""
  fi
}
trap close_tunnel EXIT

# cdktf runs as a child the shell waits for, so that a signal reaches the
# traps at once (bash runs traps only between commands). Ctrl-C reaches cdktf
# too (same process group) and it stops terraform cleanly; a TERM sent to
# this script alone is passed on. Either way the EXIT trap closes the tunnel.
child=""
run() {
  # A script's background commands start with SIGINT and SIGQUIT ignored:
  # the subshell gives them back (bash >= 4.3 lets an asynchronous subshell
  # reset them), then becomes the command. <&0: it reads the script's stdin
  # (cdktf's approval prompt), not the /dev/null a background command gets.
  (
    trap - INT QUIT
    exec "$@"
  ) <&0 &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}
on_signal() {
  local signal=$1 code=$2
  if [[ -n $child ]]; then
    [[ $signal == TERM ]] && kill -TERM "$child" 2>/dev/null
    while kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
  fi
  exit "$code"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

open_tunnel() {
  tunnel_dir=$(mktemp -d "${TMPDIR:-/tmp}/iap-tunnel.XXXXXX")
  local socket="$tunnel_dir/control"
  echo "deploy.sh: opening the IAP tunnel to $bastion_vm (localhost:$PROXY_PORT)" >&2
  # ssh backgrounds itself (-f) once the forward is up (ExitOnForwardFailure),
  # as the master of a control socket that close_tunnel tells to exit.
  control_socket=$socket
  if ! gcloud_or_hint "deploy.sh: could not open the IAP tunnel to $bastion_vm (is\
 localhost:$PROXY_PORT already in use, for example by a tunnel opened by hand? Are you in\
 access.bastion_members?)" \
    compute ssh "$bastion_vm" --tunnel-through-iap --project "$project" --zone "$zone" \
    -- -L "$PROXY_PORT:localhost:$PROXY_PORT" -N -q -f \
    -o ExitOnForwardFailure=yes -o ControlMaster=yes -o ControlPath="$socket" \
    -o ServerAliveInterval=30; then
    return 1
  fi
  local attempt code
  for ((attempt = 1; attempt <= TUNNEL_READY_ATTEMPTS; attempt++)); do
    # Any HTTP answer means tinyproxy is up behind the tunnel; 000 means not yet.
    code=$(curl --silent --output /dev/null --max-time 5 --write-out '%{http_code}' \
      "http://127.0.0.1:$PROXY_PORT/" || true)
    if [[ $code =~ ^[1-5][0-9][0-9]$ ]]; then
      return 0
    fi
    sleep "$TUNNEL_RETRY_SECONDS"
  done
  echo "deploy.sh: the bastion's proxy did not answer through the tunnel" >&2
  return 1
}

if [[ $action == plan ]]; then
  # cdktf diff takes one stack at a time; synthesize once, then diff each.
  synth=()
  for stack in "${plan_stacks[@]}"; do
    if [[ $stack == bootstrap && $access_mode == bastion ]]; then
      open_tunnel
    fi
    run "$CDKTF" diff "$stack" "${synth[@]}" "${flags[@]}"
    synth=(--skip-synth)
  done
  close_tunnel
elif [[ $action == deploy ]]; then
  run "$CDKTF" deploy network cluster "${flags[@]}"
  open_tunnel
  run "$CDKTF" deploy bootstrap --ignore-missing-stack-dependencies --skip-synth "${flags[@]}"
  close_tunnel
else
  open_tunnel
  run "$CDKTF" destroy bootstrap --ignore-missing-stack-dependencies "${flags[@]}"
  close_tunnel
  # One stack per call: with the flag, cdktf would not order them itself.
  run "$CDKTF" destroy cluster --ignore-missing-stack-dependencies --skip-synth "${flags[@]}"
  run "$CDKTF" destroy network --ignore-missing-stack-dependencies --skip-synth "${flags[@]}"
fi
