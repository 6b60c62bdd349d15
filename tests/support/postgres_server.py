"""A throwaway PostgreSQL (Debian's, >= 15: `make test` installs it) laid out like Cloud SQL.

Databases belong to cloudsqlsuperuser (no superuser), `postgres` is a member of
it and no superuser. One server serves the session (conftest.py); each test
module adds its own database and login roles (Postgres.add_database), so the
modules share no schema. The server listens on loopback TCP (MLflow's URI) and
on a unix socket in a private temporary directory, runs as a non-root user when
the tests run as root (initdb refuses root), and is stopped and removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from platform_services.mlflow.database_grant import PSQL_FLAGS, quote_identifier

#: The role initdb creates; used only to lay the server out.
BOOTSTRAP_ROLE = "bootstrap"


def _server_bin() -> Path:
    """The newest installed PostgreSQL server's bin directory (>= 15)."""
    found = sorted(
        (int(p.parent.name), p)
        for p in Path("/usr/lib/postgresql").glob("*/bin")
        if p.parent.name.isdigit() and (p / "postgres").exists()
    )
    if not found or found[-1][0] < 15:
        pytest.fail(
            "PostgreSQL >= 15 is not installed: `make unit` installs Debian's postgresql "
            "(apt-get install postgresql)"
        )
    return found[-1][1]


class Postgres:
    """The server, and the database psql connects to unless told another."""

    def __init__(self, bin_dir: Path, port: int, socket_dir: Path, database: str) -> None:
        self.bin_dir, self.port, self.socket_dir = bin_dir, port, socket_dir
        self.database = database

    def add_database(self, name: str, login_roles: Sequence[str]) -> Postgres:
        """A new database owned by cloudsqlsuperuser, and these plain login roles.

        Roles are server-wide: each module names its own."""
        for statement in (
            f"CREATE DATABASE {quote_identifier(name)} OWNER cloudsqlsuperuser",
            *(f"CREATE ROLE {quote_identifier(role)} LOGIN" for role in login_roles),
        ):
            result = self.psql(BOOTSTRAP_ROLE, statement)
            assert result.returncode == 0, result.stderr
        return Postgres(self.bin_dir, self.port, self.socket_dir, name)

    def psql(
        self, user: str, sql: str, database: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run SQL (one statement or a script, on stdin) as `user`, with the Job's psql flags."""
        return subprocess.run(
            [
                str(self.bin_dir / "psql"),
                *PSQL_FLAGS,
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                user,
                "-d",
                database or self.database,
            ],
            input=sql,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _user_exists(name: str) -> bool:
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        return True
    return False


@contextlib.contextmanager
def cloud_sql_like_postgres() -> Iterator[Postgres]:
    """A running server with Cloud SQL's roles; psql connects to database `postgres`."""
    bin_dir = _server_bin()
    # Not under pytest's tmp root: that one is private to root, and the
    # server's user must reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="pg-grant-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = "postgres" if _user_exists("postgres") else "nobody"
        shutil.chown(root, user)
        root.chmod(0o700)
        run_as = ["runuser", "-u", user, "--"]
    data = root / "data"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        subprocess.run(
            [
                *run_as,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                BOOTSTRAP_ROLE,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [
                *run_as,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(root / "log"),
                "-o",
                f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=120,
            start_new_session=True,
        )
        server = Postgres(bin_dir, port, root, "postgres")
        for statement in (
            "CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEDB CREATEROLE",
            "CREATE ROLE postgres LOGIN NOSUPERUSER IN ROLE cloudsqlsuperuser",
        ):
            result = server.psql(BOOTSTRAP_ROLE, statement)
            assert result.returncode == 0, result.stderr
        yield server
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
