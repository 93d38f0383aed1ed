"""Every docker-compose service command starts here, outside Docker, with the compose environment
(the second-bot profile's bot-eth too)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import BotSettings
from bot.strategy import registered
from crypto_bot_ui.env import AdminSettings, NotifySettings, RecorderSettings, WebSettings
from scripts.embedded_redis import free_port
from tests.stack import ROOT, database_url, delete_prefix, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.pg]

_VAR = re.compile(r"\$\{([A-Z_]+)(?::-([^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with nothing set on the host: the defaults."""
    return _VAR.sub(lambda m: m.group(2) or "", value)


@pytest.fixture
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


@pytest.fixture
def compose_env(
    compose: dict[str, Any], redis_url: str, tmp_path: Path
) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """The app services' environment, with the compose hostnames mapped to this machine."""
    raw = compose["services"]["bot"]["environment"]
    env = {key: interpolate(str(value)) for key, value in raw.items()}
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    port = str(free_port())
    mapped = {"redis://redis:6379/0": redis_url, "REDIS_PREFIX": prefix, "port": port}
    env["REDIS_URL"] = redis_url
    env["REDIS_PREFIX"] = prefix
    env["ADMIN_PASSWORD"] = "compose-Test-pass-1"
    with database_url(tmp_path) as db_url:
        # compose's postgres service → this machine's PostgreSQL (or SQLite where none runs)
        env["DATABASE_URL"] = db_url
        full = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "VAR_DIR": str(tmp_path / "var")}
        try:
            yield full, mapped
        finally:
            delete_prefix(redis_url, prefix)


SECOND_BOT = "bot-eth"
"""The second bot, started only with `docker compose --profile second-bot up`."""
DEFAULT_SERVICES = {"redis", "postgres", "migrate", "bot", "recorder", "notifier", "web"}
"""What a plain `docker compose up` starts."""


def service_env(compose: dict[str, Any], name: str, env: dict[str, str]) -> dict[str, str]:
    """`env` (the bot service's, mapped to this machine) with what service `name` sets differently."""
    own = compose["services"][name]["environment"]
    differs = {key: interpolate(str(value)) for key, value in own.items()
               if value != compose["services"]["bot"]["environment"].get(key)}
    return {**env, **differs}


def localise(argv: list[str], port: str) -> list[str]:
    """Bind to loopback on a free port instead of the container's 0.0.0.0:8000."""
    return [a.replace("0.0.0.0", "127.0.0.1").replace("8000", port) for a in argv]  # noqa: S104


def test_compose_services_start_and_become_healthy(
    compose: dict[str, Any], compose_env: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    env, mapped = compose_env
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    started = ("bot", SECOND_BOT, "recorder", "notifier", "web")
    for name in started:
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    subprocess.run(localise(services["migrate"]["command"], mapped["port"]), cwd=ROOT, env=env, check=True,
                   timeout=120, capture_output=True)
    envs = {name: service_env(compose, name, env) for name in started}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in started:
            log = (tmp_path / f"{name}.log").open("wb")
            procs[name] = subprocess.Popen(
                localise(services[name]["command"], mapped["port"]), cwd=ROOT, env=envs[name],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        for name in started:
            check = localise(services[name]["healthcheck"]["test"][1:], mapped["port"])

            def healthy(check: list[str] = check, name: str = name) -> bool:
                run = subprocess.run(check, cwd=ROOT, env=envs[name], capture_output=True, timeout=20)
                return run.returncode == 0

            wait_for(healthy, 40, f"compose service {name} healthcheck", interval=0.5)
            assert procs[name].poll() is None, f"{name} exited: {(tmp_path / f'{name}.log').read_text()}"
        # Two bots, each its own: the second's health check answers for its heartbeat, not the first's.
        assert "bot=eth" in (tmp_path / f"{SECOND_BOT}.log").read_text()
        assert "strategy=mean_reversion" in (tmp_path / f"{SECOND_BOT}.log").read_text()
    finally:
        for proc in procs.values():
            os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in procs.items():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                pytest.fail(f"{name} did not stop within 10 s of SIGTERM")


FIXED = {"REDIS_URL": "redis://redis:6379/0", "DATABASE_URL": "postgres://cryptobot:cryptobot@postgres:5432/cryptobot"}
"""What differs inside compose: the Redis and PostgreSQL services."""
IMAGE_PATHS = {"VAR_DIR", "SQLITE_PATH", "STATIC_ROOT"}
"""Paths inside the image (the Dockerfile's): a path of the host would not exist in the container."""


def test_compose_passes_every_setting_through_without_restating_its_default(compose: dict[str, Any]) -> None:
    # ServeSettings (WEB_HOST/WEB_PORT) are not passed: the web service's command fixes where it
    # listens inside its container, and the published port says where it is reachable.
    models = (WebSettings, AdminSettings, RecorderSettings, NotifySettings, BotSettings)
    settings = [env for model in models for env, _ in model.env_fields()]
    settings += [env for plugin in registered().values() for env, _ in plugin.params.env_fields()]
    passed = {name for name in settings if name not in FIXED and name not in IMAGE_PATHS}
    env = compose["services"]["bot"]["environment"]
    assert {name: env[name] for name in FIXED} == FIXED
    assert {name: value for name, value in env.items() if name not in FIXED} == {
        name: f"${{{name}:-}}" for name in passed
    }  # every setting, nothing else; an empty value means the model's default
    for service in ("migrate", "bot", "recorder", "notifier", "web"):
        assert compose["services"][service]["environment"] == env, service
    # The second bot: the same settings but its id, strategy and symbol.
    second = compose["services"][SECOND_BOT]["environment"]
    assert {name: value for name, value in second.items() if value != env[name]} == {
        "BOT_ID": "eth", "STRATEGY": "mean_reversion", "SYMBOLS": "ETHUSDT"}
    assert second.keys() == env.keys()


def test_a_plain_compose_up_is_unchanged_and_the_second_bot_is_a_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {name for name, service in services.items() if not service.get("profiles")} == DEFAULT_SERVICES
    second, bot = services[SECOND_BOT], services["bot"]
    assert second["profiles"] == ["second-bot"]
    # The same image, command and health check as `bot` (it reads BOT_ID: this bot's heartbeat).
    for key in ("image", "build", "command", "healthcheck", "depends_on", "volumes", "restart"):
        assert second[key] == bot[key], key
    # A valid bot of its own: another id, another strategy than the default bot's.
    environ = {key: interpolate(str(value)) for key, value in second["environment"].items()}
    settings = BotSettings.from_env(environ)
    default = BotSettings.from_env({key: interpolate(str(value)) for key, value in bot["environment"].items()})
    assert settings.bot_id != default.bot_id
    assert settings.strategy != default.strategy
    assert settings.strategy in registered()
    assert settings.symbols == ("ETHUSDT",)


class _ComposeLoader(yaml.SafeLoader):
    """YAML with compose's merge tags (`!reset`: drop the base file's value)."""


_ComposeLoader.add_constructor("!reset", lambda loader, node: None)


def test_the_ha_profile_adds_a_replica_and_three_sentinels_watching_the_master(compose: dict[str, Any]) -> None:
    services = compose["services"]
    ha = {name for name, service in services.items() if service.get("profiles") == ["ha"]}
    assert ha == {"redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"}
    # One command for both data nodes; the replica follows `redis` at its first start only (then
    # as the Sentinels last made it: its configuration is kept in its volume).
    assert services["redis-replica"]["command"] == services["redis"]["command"]
    assert services["redis-replica"]["environment"]["REPLICA_OF"] == "redis 6379"
    assert "[ -f redis.conf ] ||" in services["redis"]["command"][-1]
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        assert services[name]["hostname"] == name  # the name the Sentinels announce, as REDIS_SENTINELS lists them
        script = services[name]["command"][-1]
        assert "sentinel monitor cryptobot redis 6379 2" in script and "--sentinel" in script
        assert script.startswith("[ -f sentinel.conf ] ||") and services[name]["volumes"] == [f"{name}-data:/data"]
    # The documented .env names exactly these Sentinels and this master.
    docs = (ROOT / "docs" / "operations.md").read_text()
    assert "REDIS_SENTINELS=sentinel-1:26379,sentinel-2:26379,sentinel-3:26379" in docs
    assert "REDIS_SENTINEL_MASTER=cryptobot" in docs


def test_the_scale_file_puts_the_web_replicas_behind_a_balancer_trusted_alone(compose: dict[str, Any]) -> None:
    scale = yaml.load((ROOT / "compose.scale.yml").read_text(), Loader=_ComposeLoader)  # noqa: S506 - SafeLoader
    web, lb = scale["services"]["web"], scale["services"]["lb"]
    assert web["ports"] is None  # reset: the replicas publish nothing, the balancer does
    assert lb["ports"] == compose["services"]["web"]["ports"]  # the same address as a plain `up`
    assert web["environment"]["TRUSTED_PROXIES"] == lb["networks"]["default"]["ipv4_address"]
    config = ROOT / "deploy" / "haproxy.cfg"
    assert f"./{config.relative_to(ROOT)}:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    assert "server-template web- 10 web:8000" in config.read_text()
    if shutil.which("haproxy"):
        checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stdout + checked.stderr
