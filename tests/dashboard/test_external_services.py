"""With DATABASE_URL and REDIS_URL set, the same code runs on external servers and starts no embedded
ones. Uses the machine's own PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) when they answer."""

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


pytestmark = pytest.mark.skipif(
    not (listening(5432) and listening(6379)),
    reason="no external PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 on this machine",
)


@pytest.fixture
def external_db():
    name = f"smd_external_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_migrate_and_serve_on_external_postgres_and_redis(external_db, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": external_db,
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "VAR_DIR": str(tmp_path),
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    probe = (
        "from django.test import Client; from django.db import connection; "
        "print(connection.settings_dict['HOST'], connection.settings_dict['NAME']); "
        "print(Client(HTTP_HOST='localhost').get('/healthz').json())"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    host_line, health_line = result.stdout.strip().splitlines()[-2:]
    assert host_line == f"127.0.0.1 {external_db.rsplit('/', 1)[1]}"
    assert health_line == "{'status': 'ok', 'database': 'ok', 'cache': 'ok'}"
    assert not (tmp_path / "pgdata").exists() and not (tmp_path / "redis.rdb").exists()
