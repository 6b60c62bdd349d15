"""MLflow's database grant, proven on a real PostgreSQL (issue #12 item 4).

A PostgreSQL >= 15 (tests/support/postgres_server.py: Debian's `postgresql`,
installed by `make unit` when missing) runs as a non-root user. The roles
mirror Cloud SQL: databases belong to
cloudsqlsuperuser (not a superuser), `postgres` is a member of it and runs the
grant, and MLflow's IAM user is a plain login role named like Cloud SQL names
it. The grant is the one the deploy runs (platform_constructs.mlflow_database_grant).
"""

from __future__ import annotations

import re
import subprocess

import pytest

from platform_services.mlflow.database_grant import grant_sql, quote_identifier
from tests.support.postgres_server import Postgres

MLFLOW_USER = "mlflow-dev@my-project-1.iam"
OTHER_USER = "notebook-dev@my-project-1.iam"
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


@pytest.fixture(scope="module")
def postgres(postgres_server: Postgres) -> Postgres:
    return postgres_server.add_database("mlflow", [MLFLOW_USER, OTHER_USER])


def psql(server: Postgres, user: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
    return server.psql(user, sql, database)


def test_server_is_postgresql_15_or_later(postgres: Postgres) -> None:
    result = psql(postgres, "postgres", "mlflow", "SHOW server_version_num;")
    assert result.returncode == 0, result.stderr
    assert int(re.findall(r"\d{6}", result.stdout)[0]) >= 150000


def test_grant_lets_mlflow_migrate_and_nobody_else(postgres: Postgres) -> None:
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
