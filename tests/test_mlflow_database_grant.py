"""MLflow's database grant, proven on a real PostgreSQL (issue #12 item 4).

A PostgreSQL >= 15 (Debian's `postgresql`, installed by `make unit` when
missing) runs on a unix socket in a temporary directory, no TCP, as a
non-root user. The roles mirror Cloud SQL: databases belong to
cloudsqlsuperuser (not a superuser), `postgres` is a member of it and runs the
grant, and MLflow's IAM user is a plain login role named like Cloud SQL names
it. The grant is the one the deploy runs (platform_constructs.mlflow_database_grant).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_constructs.mlflow_database_grant import grant_sql, quote_identifier

MLFLOW_USER = "mlflow-dev@my-project-1.iam"
OTHER_USER = "notebook-dev@my-project-1.iam"
#: The user the server runs as when the tests run as root (initdb refuses root).
SERVER_USER = "nobody"
#: Tables, indexes, foreign keys and a column change: what alembic migrations do.
MIGRATION = """
CREATE TABLE experiments (experiment_id serial PRIMARY KEY, name varchar(256) UNIQUE);
CREATE TABLE runs (run_uuid varchar(32) PRIMARY KEY,
                   experiment_id integer REFERENCES experiments (experiment_id));
CREATE INDEX index_runs_experiment ON runs (experiment_id);
ALTER TABLE runs ADD COLUMN lifecycle_stage varchar(20);
CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
INSERT INTO alembic_version VALUES ('1b5f0d9ad7c1');
"""


def _postgres_bin() -> Path:
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


@pytest.fixture(scope="module")
def postgres() -> Iterator[Path]:
    """A running server; yields its socket directory."""
    bin_dir = _postgres_bin()
    # Not under pytest's tmp root: that one is private to root, and the
    # server's user must reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="mlflow-grant-pg-"))
    data, socket_dir = root / "data", root / "socket"
    socket_dir.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        for path in (root, socket_dir):
            os.chown(path, user.pw_uid, user.pw_gid)
        root.chmod(0o700)
        as_user = ["runuser", "-u", SERVER_USER, "--"]
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "superuser", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    # No TCP at all: the unix socket in a private directory only.
    options = f"-c listen_addresses='' -c unix_socket_directories={socket_dir}"
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-o",
            options,
            "-l",
            str(root / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        psql(socket_dir, "superuser", "postgres", _cloud_sql_roles())
        yield socket_dir
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _cloud_sql_roles() -> str:
    return f"""
CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB;
CREATE ROLE postgres LOGIN IN ROLE cloudsqlsuperuser;
CREATE ROLE {quote_identifier(MLFLOW_USER)} LOGIN;
CREATE ROLE {quote_identifier(OTHER_USER)} LOGIN;
CREATE DATABASE mlflow OWNER cloudsqlsuperuser;
"""


def psql(socket_dir: Path, user: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
    psql_bin = shutil.which("psql") or str(_postgres_bin() / "psql")
    return subprocess.run(
        [
            psql_bin,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(socket_dir),
            "-U",
            user,
            "-d",
            database,
        ],
        input=sql,
        text=True,
        capture_output=True,
        check=False,
    )


def test_server_is_postgresql_15_or_later(postgres: Path) -> None:
    result = psql(postgres, "postgres", "mlflow", "SHOW server_version_num;")
    assert result.returncode == 0, result.stderr
    assert int(re.findall(r"\d{6}", result.stdout)[0]) >= 150000


def test_grant_lets_mlflow_migrate_and_nobody_else(postgres: Path) -> None:
    # Before the grant, MLflow's user cannot create its tables (PostgreSQL 15+).
    before = psql(postgres, MLFLOW_USER, "mlflow", MIGRATION)
    assert before.returncode != 0
    assert "permission denied for schema public" in before.stderr

    # The grant, as the deploy runs it: by postgres, not a superuser. Twice:
    # a second deploy runs it again.
    for _ in range(2):
        granted = psql(postgres, "postgres", "mlflow", grant_sql(MLFLOW_USER))
        assert granted.returncode == 0, granted.stderr

    migrated = psql(postgres, MLFLOW_USER, "mlflow", MIGRATION)
    assert migrated.returncode == 0, migrated.stderr
    # Later migrations by the same user change its own tables.
    later = psql(
        postgres, MLFLOW_USER, "mlflow", "ALTER TABLE runs ADD COLUMN deleted_time bigint;"
    )
    assert later.returncode == 0, later.stderr

    # A role without the grant still cannot create anything, nor touch MLflow's data.
    other = psql(postgres, OTHER_USER, "mlflow", "CREATE TABLE intruder (id int);")
    assert "permission denied for schema public" in other.stderr
    read = psql(postgres, OTHER_USER, "mlflow", "SELECT * FROM runs;")
    assert "permission denied for table runs" in read.stderr

    # Only what the grant says: MLflow's user is no superuser and cannot make roles.
    escalate = psql(postgres, MLFLOW_USER, "mlflow", "CREATE ROLE attacker LOGIN;")
    assert "permission denied" in escalate.stderr


@pytest.mark.parametrize(
    "user",
    [
        'mlflow-dev@p.iam"; DROP DATABASE mlflow; --',
        "mlflow-dev@my-project.iam;",
        "mlflow-dev@my-project-1.iam.gserviceaccount.com",
        "",
        "MLFLOW@my-project-1.iam",
    ],
)
def test_grant_refuses_what_is_not_an_iam_database_user(user: str) -> None:
    with pytest.raises(ValueError, match="IAM service-account database user"):
        grant_sql(user)


def test_identifier_quoting_keeps_quotes_inside() -> None:
    assert quote_identifier('a"b') == '"a""b"'
    with pytest.raises(ValueError):
        quote_identifier("a\x00b")
