"""Set or rotate away the Cloud SQL `postgres` password (stdlib only; runs in the grant Job).

  set     PUT a random password through the Cloud SQL Admin API, wait for the
          operation, write it to $PGPASSFILE (0600, a memory-backed volume of
          this pod) for the next container's psql.
  rotate  PUT another random password that nobody ever sees, delete
          $PGPASSFILE, then report the grant's outcome from $GRANT_RESULT
          ("0" = success) and exit non-zero when the grant failed.

The Job's Google identity (Workload Identity, token from the metadata server)
may connect to this one instance only, and update Cloud SQL users
(database_grant.py, ADMIN_API_CALLS: what each call needs, and why).

IAM propagation: a binding made by the same `cdktf deploy` "typically
propagates in 2 minutes, but could potentially take 7 minutes or longer"
(https://cloud.google.com/iam/docs/access-change-propagation). So every call
is retried on 403, 429, 5xx and connection errors with exponential backoff,
within RETRY_BUDGET_SECONDS for the whole run (set: 7 minutes; rotate runs
after the grant, when the bindings work), logging each retry in one line. A
403 that outlasts the budget fails with the permission the call needs.
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
from collections.abc import Callable

API = os.environ.get("SQLADMIN_API", "https://sqladmin.googleapis.com")
METADATA = os.environ.get("METADATA_HOST", "http://metadata.google.internal")
#: Seconds each mode may spend retrying and waiting for its operation. With the
#: grant step's proxy wait they fit the Job's activeDeadlineSeconds and the
#: release's timeout (900 s), with room for scheduling and image pulls.
RETRY_BUDGET_SECONDS = {"set": 420, "rotate": 120}
#: Seconds between polls of a running operation.
POLL_SECONDS = 2
#: Backoff: FIRST_DELAY, doubling, at most MAX_DELAY seconds.
FIRST_DELAY = 2.0
MAX_DELAY = 60.0
RETRIED_STATUSES = frozenset({403, 429, 500, 502, 503, 504})
#: Injectable, so tests neither sleep nor wait.
sleep: Callable[[float], None] = time.sleep
clock: Callable[[], float] = time.monotonic


class _Deadline:
    """One run's retry budget, and the exponential backoff within it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = clock() + seconds
        self.delay = FIRST_DELAY
        self.attempts = 0

    def wait_or_give_up(self, what: str, reason: str) -> bool:
        """Sleep before the next attempt and return True, or False when the
        budget cannot hold another wait."""
        self.attempts += 1
        delay = min(self.delay, MAX_DELAY)
        if clock() + delay > self.end:
            return False
        print(
            f"retry {self.attempts} of {what} in {delay:.0f} s: {reason}",
            file=sys.stderr,
            flush=True,
        )
        sleep(delay)
        self.delay *= 2
        return True


def _token(deadline: _Deadline) -> str:
    request = urllib.request.Request(
        f"{METADATA}/computeMetadata/v1/instance/service-accounts/default/token",
        headers={"Metadata-Flavor": "Google"},
    )
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return str(json.load(response)["access_token"])
        except (urllib.error.URLError, OSError) as error:
            # GKE's metadata server may not answer in a pod's first seconds.
            if not deadline.wait_or_give_up("the metadata server token", str(error)):
                raise SystemExit(f"no token from the metadata server: {error}") from None


def _call(
    method: str,
    url: str,
    token: str,
    deadline: _Deadline,
    *,
    permission: str,
    body: dict[str, str] | None = None,
) -> dict[str, object]:
    """One Admin API call, retried while IAM propagates or the API is busy."""
    while True:
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
            reason = f"HTTP {error.code}"
            if error.code in RETRIED_STATUSES and deadline.wait_or_give_up(
                f"{method} {url}", reason
            ):
                continue
            hint = (
                f": the Job's Google identity lacks {permission} (or its binding has not "
                f"propagated within {deadline.seconds} s)"
                if error.code == 403
                else ""
            )
            raise SystemExit(
                f"Cloud SQL Admin API {method} {url}: {reason} after "
                f"{deadline.attempts + 1} attempt(s){hint}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            if deadline.wait_or_give_up(f"{method} {url}", str(error)):
                continue
            raise SystemExit(f"Cloud SQL Admin API {method} {url}: {error}") from None


def set_password(project: str, instance: str, password: str, budget: float) -> None:
    """users.update for `postgres`, then wait until the operation is DONE."""
    deadline = _Deadline(budget)
    token = _token(deadline)
    base = f"{API}/v1/projects/{urllib.parse.quote(project)}"
    users = f"{base}/instances/{urllib.parse.quote(instance)}/users?name=postgres"
    body = {"name": "postgres", "password": password}
    operation = _call("PUT", users, token, deadline, permission="cloudsql.users.update", body=body)
    while operation.get("status") != "DONE":
        if clock() > deadline.end:
            raise SystemExit(f"Cloud SQL operation {operation.get('name')} not done in time")
        sleep(POLL_SECONDS)
        name = urllib.parse.quote(str(operation["name"]))
        operation = _call(
            "GET",
            f"{base}/operations/{name}",
            token,
            deadline,
            permission="cloudsql.instances.get",
        )
    if operation.get("error"):
        raise SystemExit(f"Cloud SQL operation failed: {json.dumps(operation['error'])}")


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) == 2 else ""
    project, instance = os.environ["PROJECT"], os.environ["INSTANCE"]
    passfile = os.environ["PGPASSFILE"]
    if mode == "set":
        password = secrets.token_urlsafe(32)  # [A-Za-z0-9_-]: nothing to escape in a passfile
        set_password(project, instance, password, RETRY_BUDGET_SECONDS["set"])
        descriptor = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"*:*:*:postgres:{password}\n")
        print("postgres password set for the grant (kept in this pod's memory only)")
        return 0
    if mode == "rotate":
        set_password(project, instance, secrets.token_urlsafe(32), RETRY_BUDGET_SECONDS["rotate"])
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
