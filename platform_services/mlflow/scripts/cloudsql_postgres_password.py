"""Set or rotate away the Cloud SQL `postgres` password (stdlib only; runs in the grant Job).

  set     PUT a random password through the Cloud SQL Admin API, wait for the
          operation, write it to $PGPASSFILE (0600, a memory-backed volume of
          this pod) for the next container's psql.
  rotate  PUT another random password that nobody ever sees, delete
          $PGPASSFILE, then report the grant's outcome from $GRANT_RESULT
          ("0" = success) and exit non-zero when the grant failed.

The Job's Google identity (Workload Identity, token from the metadata server)
may only update users of, and connect to, this one instance.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

API = os.environ.get("SQLADMIN_API", "https://sqladmin.googleapis.com")
METADATA = os.environ.get("METADATA_HOST", "http://metadata.google.internal")
TIMEOUT_SECONDS = 300
#: Seconds between polls of a running operation (a constant: the tests poll without waiting).
POLL_SECONDS = 2


def _token() -> str:
    request = urllib.request.Request(
        f"{METADATA}/computeMetadata/v1/instance/service-accounts/default/token",
        headers={"Metadata-Flavor": "Google"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["access_token"])


def _call(
    method: str, url: str, token: str, body: dict[str, str] | None = None
) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:2000]
        raise SystemExit(
            f"Cloud SQL Admin API {method} {url}: HTTP {error.code}: {detail}"
        ) from None


def set_password(project: str, instance: str, password: str) -> None:
    """users.update for `postgres`, then wait until the operation is DONE."""
    token = _token()
    base = f"{API}/v1/projects/{urllib.parse.quote(project)}"
    users = f"{base}/instances/{urllib.parse.quote(instance)}/users?name=postgres"
    operation = _call("PUT", users, token, {"name": "postgres", "password": password})
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while operation.get("status") != "DONE":
        if time.monotonic() > deadline:
            raise SystemExit(f"Cloud SQL operation {operation.get('name')} not done in time")
        time.sleep(POLL_SECONDS)
        name = urllib.parse.quote(str(operation["name"]))
        operation = _call("GET", f"{base}/operations/{name}", token)
    if operation.get("error"):
        raise SystemExit(f"Cloud SQL operation failed: {json.dumps(operation['error'])}")


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) == 2 else ""
    project, instance = os.environ["PROJECT"], os.environ["INSTANCE"]
    passfile = os.environ["PGPASSFILE"]
    if mode == "set":
        password = secrets.token_urlsafe(32)  # [A-Za-z0-9_-]: nothing to escape in a passfile
        set_password(project, instance, password)
        descriptor = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"*:*:*:postgres:{password}\n")
        print("postgres password set for the grant (kept in this pod's memory only)")
        return 0
    if mode == "rotate":
        set_password(project, instance, secrets.token_urlsafe(32))
        if os.path.exists(passfile):
            os.remove(passfile)
        print("postgres password rotated away: nobody knows the new one")
        result_file = os.environ["GRANT_RESULT"]
        result = "missing"
        if os.path.exists(result_file):
            with open(result_file) as handle:
                result = handle.read().strip()
        if result != "0":
            print(
                f"ERROR: the MLflow database grant failed (psql exit status {result}); "
                "see the logs of the 'grant' container of this Job",
                file=sys.stderr,
            )
            return 1
        print("MLflow database grant done")
        return 0
    print(f"usage: {argv[0]} set|rotate", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
