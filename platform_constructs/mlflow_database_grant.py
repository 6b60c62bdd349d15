"""The SQL that lets MLflow's IAM database user create its schema (pure Python).

One place for it: the grant step and the test that runs it on a real
PostgreSQL both take it from here.

Why it is needed: PostgreSQL 15+ gives PUBLIC no CREATE on schema public
(the schema belongs to pg_database_owner), and Cloud SQL gives an IAM
database user no privileges at all. MLflow creates and migrates its tables
itself (alembic), so its user needs USAGE and CREATE on schema public; the
tables it creates are then its own. Nothing else: no superuser, no role
membership, no other schema. GRANT is idempotent, so running it again is
harmless. Run it as Cloud SQL's `postgres` user (a member of
cloudsqlsuperuser, which owns databases created through the Admin API and so
owns their schema public).
"""

from __future__ import annotations

import re

#: Cloud SQL's name for a service account's IAM database user: its email
#: without ".gserviceaccount.com" (e.g. mlflow-dev@my-project.iam).
_IAM_DATABASE_USER = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam")


def quote_identifier(name: str) -> str:
    """A PostgreSQL quoted identifier: inner double quotes doubled, no NUL."""
    if not name or "\x00" in name:
        raise ValueError(f"not a PostgreSQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def grant_sql(database_user: str) -> str:
    """The statements, one per line, for psql -v ON_ERROR_STOP=1."""
    if not _IAM_DATABASE_USER.fullmatch(database_user):
        raise ValueError(
            "database_user must be an IAM service-account database user like "
            f"<account>@<project>.iam, got {database_user!r}"
        )
    role = quote_identifier(database_user)
    return f"GRANT USAGE, CREATE ON SCHEMA public TO {role};\n"
