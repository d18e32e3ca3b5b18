"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the code: the same
processes as the run command, only variables the settings read, health checks and volumes."""

import re
import shlex
from pathlib import Path

import yaml

from dashboard.management.commands.runstack import process_commands

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "beat"]
# boto3 reads these itself; the project passes them through.
BOTO3_NAMES = {
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
}


def settings_env_names() -> set[str]:
    source = (ROOT / "dashboard" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|list|secret)\(\s*"([A-Z0-9_]+)"', source))


def command_words(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    words = command if isinstance(command, list) else shlex.split(command)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2].replace("&&", " && "))
    return words


def test_it_has_the_run_commands_processes_plus_postgres_and_redis():
    assert set(SERVICES) == {"postgres", "redis", *APP_SERVICES}
    assert set(process_commands("127.0.0.1:8000", 2, 2, "/tmp")) == set(APP_SERVICES)


def test_app_services_run_the_same_programs_as_the_run_command():
    local = process_commands("127.0.0.1:8000", 2, 2, "/tmp")
    for service in APP_SERVICES:
        # The module and its first arguments (what runs), not host-specific flags like --bind.
        program = local[service][1:5] if service == "web" else local[service][1:7]
        words = command_words(service)
        start = words.index(program[0])
        assert words[start : start + len(program)] == program, service


def test_app_services_only_set_variables_the_settings_read():
    known = settings_env_names() | BOTO3_NAMES
    for service in APP_SERVICES:
        names = set(SERVICES[service]["environment"])
        assert names <= known, f"{service}: unknown variables {sorted(names - known)}"
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= names


def test_database_url_points_at_the_postgres_service():
    env = SERVICES["web"]["environment"]
    pg = SERVICES["postgres"]["environment"]
    assert env["DATABASE_URL"].startswith(f"postgresql://{pg['POSTGRES_USER']}:")
    assert env["DATABASE_URL"].endswith(f"@postgres:5432/{pg['POSTGRES_DB']}")
    assert env["REDIS_URL"].startswith("redis://redis:6379")


def test_services_have_health_checks_volumes_and_wait_for_their_stores():
    for name in ("postgres", "redis", "web"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert SERVICES["web"]["healthcheck"]["test"][-1].count("/healthz") == 1
    assert set(COMPOSE["volumes"]) == {"pgdata", "redisdata"}
    assert any(v.startswith("pgdata:") for v in SERVICES["postgres"]["volumes"])
    for service in APP_SERVICES:
        depends = SERVICES[service]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"


def test_web_migrates_before_serving():
    words = " ".join(command_words("web"))
    assert words.index("manage.py migrate") < words.index("gunicorn")


def test_secrets_are_required_not_defaulted():
    raw = (ROOT / "docker-compose.yml").read_text()
    assert "${SECRET_KEY:?" in raw and "${POSTGRES_PASSWORD:?" in raw
