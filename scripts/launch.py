"""`make run`: find or start Redis, migrate, ensure an admin, run and supervise every service.

Every process in the Procfile (and the embedded Redis) runs under one `Supervisor`
(scripts/supervise.py, built on honcho's pieces): one that exits is restarted with back-off, a
crash loop stops everything with a message naming the process, and Ctrl-C or SIGTERM stops them
all (SIGTERM to each process group, SIGKILL after 5 s), so no orphan survives the launcher.

One bot by default (the Procfile's `bot`, with `BOT_ID` as set). `BOT_IDS=main,eth` runs the
Procfile's `bot` line once per id instead, as `bot.main`, `bot.eth`, each with its `BOT_ID` and its
own restarts; `BOT_<ID>_<SETTING>` (the id upper-cased, `-` as `_`) sets a bot setting or strategy
parameter for that bot only, e.g. `BOT_ETH_SYMBOLS=ETHUSDT`. The list is checked (`plan_bots`)
before anything starts. The web process, the recorder and the notifier find the bots in Redis on their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from honcho.environ import parse_procfile

from bot.config import BotSettings
from bot.strategy import registered, strategy_plugin
from bot_api.errors import ContractError
from bot_api.keys import validate_bot_id
from bot_api.redis_conn import mask_url
from bot_api.settings import DEFAULT_REDIS_URL, CommonSettings
from crypto_bot_ui.env import ServeSettings, load
from scripts import embedded_redis
from scripts.supervise import Supervisor

ROOT = Path(__file__).resolve().parent.parent
BOT_PROCESS = "bot"
"""The Procfile process run once per bot id."""
BOT_IDS = "BOT_IDS"
"""The launcher's own variable: the ids of the bots to run, comma-separated (empty: one bot)."""
SHARED = frozenset({"BOT_ID", "REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_PREFIX"})
"""Settings no `BOT_<ID>_` variable may set: the launcher sets BOT_ID, and every bot must be on the
web process's Redis and prefix, or the dashboard would never see it."""


class LaunchError(Exception):
    """The launcher's configuration is wrong; the message names the variable and what to change."""


@dataclass(frozen=True)
class BotPlan:
    """One bot process to run: its id, its process name and its own settings."""

    bot_id: str
    name: str
    overrides: dict[str, str] = field(default_factory=dict)
    """Settings for this bot only, by their plain names (`SYMBOLS`), from `BOT_<ID>_<SETTING>`."""

    @property
    def prefix(self) -> str:
        """How this bot's own settings are spelled: `BOT_<ID>_`."""
        return override_prefix(self.bot_id)

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The bot process's environment: `base`, then its BOT_ID, then its own settings."""
        return {**base, "BOT_ID": self.bot_id, **self.overrides}


def override_prefix(bot_id: str) -> str:
    """`BOT_<ID>_`, the id upper-cased and `-` as `_` (`eth-2` → `BOT_ETH_2_`)."""
    return f"BOT_{bot_id.upper().replace('-', '_')}_"


@cache
def _settings() -> frozenset[str]:
    """Every bot setting and every registered strategy's parameter, by env name."""
    names = {name for name, _ in BotSettings.env_fields()}
    names.update(name for plugin in registered().values() for name, _ in plugin.params.env_fields())
    return frozenset(names)


@cache
def _plugin_settings(strategy: str) -> frozenset[str]:
    """The parameters of a strategy plug-in outside the project, by env name (none if it cannot be
    loaded: the bot itself says why when it starts)."""
    if not strategy or strategy in registered():
        return frozenset()
    try:
        return frozenset(name for name, _ in strategy_plugin(strategy).params.env_fields())
    except ValueError:
        return frozenset()


def _check_id(variable: str, bot_id: str, raw: str) -> None:
    try:
        validate_bot_id(bot_id)
    except ContractError:
        raise LaunchError(f"{variable}: bot id {bot_id!r} must be 1-32 letters, digits, _ or - (got {raw!r})") from None


def parse_bot_ids(env: Mapping[str, str]) -> list[str] | None:
    """The ids BOT_IDS lists, checked: each valid, none twice, no two spelled alike as `BOT_<ID>_`.
    None when BOT_IDS is unset or empty (one bot)."""
    raw = env.get(BOT_IDS, "")
    ids: list[str] = []
    by_prefix: dict[str, str] = {}
    for bot_id in (part.strip() for part in raw.split(",")):
        if not bot_id:
            continue
        _check_id(BOT_IDS, bot_id, raw)
        if bot_id in ids:
            raise LaunchError(f"{BOT_IDS}: bot id {bot_id!r} is listed twice (got {raw!r}); each bot needs its own id")
        prefix = override_prefix(bot_id)
        if prefix in by_prefix:
            raise LaunchError(f"{BOT_IDS}: bot ids {by_prefix[prefix]!r} and {bot_id!r} would share the settings "
                              f"prefix {prefix} (got {raw!r}); rename one")
        ids.append(bot_id)
        by_prefix[prefix] = bot_id
    return ids or None


def plan_bots(env: Mapping[str, str]) -> list[BotPlan]:
    """The bot processes to run: `bot.<id>` per id of BOT_IDS, or the one `bot` (BOT_ID) without it,
    each with its `BOT_<ID>_<SETTING>` settings. LaunchError, naming the variable, on a bad or repeated
    id, or a `BOT_<ID>_` variable that names no setting, a shared one, or fits two bots."""
    ids = parse_bot_ids(env)
    if ids is None:
        bot_id = env.get("BOT_ID") or str(CommonSettings.model_fields["bot_id"].default)  # empty is unset
        _check_id("BOT_ID", bot_id, bot_id)
        plans = [BotPlan(bot_id, BOT_PROCESS)]
    else:
        plans = [BotPlan(bot_id, f"{BOT_PROCESS}.{bot_id}") for bot_id in ids]

    def is_setting(plan: BotPlan, name: str) -> bool:
        strategy = env.get(f"{plan.prefix}STRATEGY") or env.get("STRATEGY") or ""
        return name in _settings() or name in _plugin_settings(strategy)

    for variable in sorted(env):
        # (bot, setting) for each bot whose prefix the variable starts with: with ids `eth` and
        # `eth_x`, BOT_ETH_X_SYMBOLS is SYMBOLS of eth_x (X_SYMBOLS is no setting of eth).
        readings = [(plan, variable[len(plan.prefix):]) for plan in plans
                    if variable.startswith(plan.prefix) and len(variable) > len(plan.prefix)]
        if not readings:
            continue  # not a bot's own setting (BOT_IDS, BOT_ID, anything else)
        fits = [(plan, name) for plan, name in readings if is_setting(plan, name)]
        if not fits:
            plan, name = min(readings, key=lambda reading: len(reading[1]))
            raise LaunchError(f"{variable}: {name} is not a bot setting or strategy parameter (for bot "
                              f"{plan.bot_id!r}; they are listed in docs/trading.md)")
        if len(fits) > 1:
            which = " or ".join(f"{name} of bot {plan.bot_id!r}" for plan, name in fits)
            raise LaunchError(f"{variable}: ambiguous, it could be {which}; rename one of the bots")
        plan, name = fits[0]
        if name in SHARED:
            raise LaunchError(f"{variable}: {name} cannot differ between bots (the launcher sets BOT_ID; every bot "
                              f"uses the dashboard's Redis and prefix)")
        plan.overrides[name] = env[variable]
    return plans


def expand_processes(
    procfile: Mapping[str, str], env: Mapping[str, str], bots: list[BotPlan]
) -> list[tuple[str, str, dict[str, str]]]:
    """(name, command, environment) of every process, in Procfile order: its `bot` line once per bot."""
    processes: list[tuple[str, str, dict[str, str]]] = []
    for name, cmd in procfile.items():
        if name == BOT_PROCESS:
            processes.extend((plan.name, cmd, plan.env(env)) for plan in bots)
        else:
            processes.append((name, cmd, dict(env)))
    return processes


def build_env() -> dict[str, str]:
    """The environment every child gets: the venv first on PATH, defaults filled in."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("VAR_DIR", str(ROOT / "var"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def choose_redis(env: dict[str, str], supervisor: Supervisor) -> None:
    """Use REDIS_URL if it answers; otherwise add an embedded redis-server to the supervisor.
    With REDIS_SENTINELS the processes find the master themselves (and wait for it)."""
    if env.get("REDIS_SENTINELS", "").strip():
        print(f"launch: Redis through the Sentinels at {env['REDIS_SENTINELS'].strip()}", flush=True)
        return
    url = env.get("REDIS_URL") or DEFAULT_REDIS_URL  # empty means the default, as for every setting
    if embedded_redis.redis_answers(url):
        print(f"launch: using Redis at {mask_url(url)}", flush=True)
        env["REDIS_URL"] = url
        return
    port = int(env.get("EMBEDDED_REDIS_PORT", "0")) or embedded_redis.free_port()
    data_dir = Path(env["VAR_DIR"]) / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = "exec " + " ".join(f"'{part}'" for part in embedded_redis.server_command(data_dir, port))
    supervisor.add_process("redis", cmd, env=env, cwd=str(ROOT))
    env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    print(f"launch: no Redis at {mask_url(url)}; starting an embedded one on port {port}", flush=True)


def prepare_database(env: dict[str, str]) -> None:
    """Apply migrations, collect static files and make sure the admin account exists."""
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True)
    # As in production (the Dockerfile does the same): WhiteNoise serves the collected files.
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "ensure_admin"], cwd=ROOT, env=env, check=True)


def announce_when_ready(url: str, stop: threading.Event) -> None:
    """Print the dashboard URL once /api/health answers (best effort, gives up after 60 s)."""
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}api/health", timeout=1):  # noqa: S310 - loopback URL
                pass
        except OSError as exc:
            if getattr(exc, "code", None) is None:  # 503 still means the server is up
                stop.wait(0.3)
                continue
        print(f"\n  Dashboard ready: {url}  (Ctrl-C stops everything)\n", flush=True)
        return


def main() -> int:
    """Run every service until Ctrl-C or SIGTERM (exit code 130/143) or a crash loop (1); 2 at once,
    starting nothing, if the bots are misconfigured (BOT_IDS, BOT_<ID>_*)."""
    os.chdir(ROOT)
    env = build_env()
    try:
        bots = plan_bots(env)  # before anything starts: a wrong BOT_IDS changes nothing
    except LaunchError as exc:
        print(f"launch: configuration error: {exc}", file=sys.stderr, flush=True)
        return 2
    for plan in bots:
        if plan.overrides:
            print(f"launch: {plan.name} sets {', '.join(sorted(plan.overrides))} of its own", flush=True)
    if env.get(BOT_IDS):
        ids = [plan.bot_id for plan in bots]
        # The web process's and the recorder's default bot (/ws/dashboard/, /api/dashboard without
        # bot=) must be one that runs: the first listed, unless BOT_ID names one of them.
        if env.get("BOT_ID") not in ids:
            if env.get("BOT_ID"):
                print(f"launch: BOT_ID={env['BOT_ID']} is not in {BOT_IDS}; the default bot is {ids[0]}", flush=True)
            env["BOT_ID"] = ids[0]
    where = load(ServeSettings, env)
    url = f"http://{where.web_host}:{where.web_port}/"
    if not env.get("PUBLIC_URL"):  # the links in notifications lead to this dashboard
        env["PUBLIC_URL"] = url.rstrip("/")
    supervisor = Supervisor()
    choose_redis(env, supervisor)
    prepare_database(env)
    procfile = parse_procfile((ROOT / "Procfile").read_text())
    processes = expand_processes(procfile.processes, env, bots)
    for name, cmd, process_env in processes:
        supervisor.add_process(name, cmd, env=process_env, cwd=str(ROOT))
    print(f"launch: starting {', '.join(name for name, _, _ in processes)}; dashboard at {url}", flush=True)
    stop = threading.Event()
    threading.Thread(target=announce_when_ready, args=(url, stop), daemon=True).start()
    try:
        return supervisor.run()
    finally:
        stop.set()


if __name__ == "__main__":
    sys.exit(main())
