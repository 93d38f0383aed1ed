"""`make run` with several bots: BOT_IDS expanded into one `bot.<id>` process per id, each with its
BOT_ID and its `BOT_<ID>_<SETTING>` settings; bad, repeated or clashing ids and overrides refused
before anything starts; each bot process supervised (restarted, crash loop named) on its own."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import launch
from scripts.launch import BotPlan, LaunchError, expand_processes, override_prefix, parse_bot_ids, plan_bots
from scripts.supervise import RestartPolicy, Supervisor
from tests.stack import ROOT, wait_for

PROCFILE = {"bot": "exec python -m bot", "recorder": "exec python manage.py run_recorder", "web": "exec serve"}
FAST = RestartPolicy(backoff_base=0.05, backoff_cap=0.2, give_up_after=5, stable_after=30)


def plans(**env: str) -> dict[str, BotPlan]:
    return {plan.name: plan for plan in plan_bots(env)}


def refused(**env: str) -> str:
    with pytest.raises(LaunchError) as info:
        plan_bots(env)
    return str(info.value)


# --- ids ---------------------------------------------------------------------------------------


def test_without_bot_ids_one_bot_runs_as_before_under_its_bot_id() -> None:
    assert plans() == {"bot": BotPlan("main", "bot")}
    assert plans(BOT_IDS="", BOT_ID="") == {"bot": BotPlan("main", "bot")}  # empty is unset
    assert plans(BOT_IDS=" , ") == {"bot": BotPlan("main", "bot")}
    assert plans(BOT_ID="alpha") == {"bot": BotPlan("alpha", "bot")}
    # ... and it may have its own settings too, as any bot
    assert plans(BOT_ID="alpha", BOT_ALPHA_SYMBOLS="ETHUSDT")["bot"].overrides == {"SYMBOLS": "ETHUSDT"}


def test_bot_ids_run_one_process_per_id_named_after_it() -> None:
    found = plan_bots({"BOT_IDS": " main, eth ,x-2,Sol_1 "})
    assert [(plan.bot_id, plan.name) for plan in found] == [
        ("main", "bot.main"), ("eth", "bot.eth"), ("x-2", "bot.x-2"), ("Sol_1", "bot.Sol_1")]
    assert parse_bot_ids({"BOT_IDS": "main"}) == ["main"]


def test_the_override_prefix_is_the_id_upper_cased_with_dashes_as_underscores() -> None:
    assert override_prefix("eth") == "BOT_ETH_"
    assert override_prefix("eth-2") == "BOT_ETH_2_"
    assert override_prefix("Sol_1") == "BOT_SOL_1_"


@pytest.mark.parametrize("raw", ["main,main", "main,eth,main", "eth, eth"])
def test_a_repeated_id_is_refused(raw: str) -> None:
    message = refused(BOT_IDS=raw)
    assert message.startswith("BOT_IDS: bot id ")
    assert "is listed twice" in message and repr(raw) in message


@pytest.mark.parametrize(("raw", "first", "second"), [("eth,ETH", "eth", "ETH"), ("a-b,a_b", "a-b", "a_b")])
def test_ids_spelled_alike_as_variables_are_refused(raw: str, first: str, second: str) -> None:
    message = refused(BOT_IDS=raw)
    assert f"bot ids {first!r} and {second!r} would share the settings prefix {override_prefix(first)}" in message


@pytest.mark.parametrize("bad", ["bad id", "a.b", "x" * 33, "été", "a:b", "*"])
def test_an_invalid_id_is_refused_naming_it(bad: str) -> None:
    message = refused(BOT_IDS=f"main,{bad}")
    assert message.startswith(f"BOT_IDS: bot id {bad!r} must be 1-32 letters, digits, _ or -")


def test_an_invalid_bot_id_without_bot_ids_is_refused_too() -> None:
    assert refused(BOT_ID="no way").startswith("BOT_ID: bot id 'no way' must be 1-32 letters")


# --- per-bot settings ----------------------------------------------------------------------------


def test_each_bot_gets_its_own_settings_and_no_other_bots() -> None:
    found = plans(BOT_IDS="main,eth-2", BOT_ETH_2_SYMBOLS="ETHUSDT", BOT_ETH_2_STRATEGY="mean_reversion",
                  BOT_ETH_2_MR_WINDOW="30", BOT_MAIN_SMA_FAST="3", BOT_ETH_2_MAX_DAILY_LOSS="",
                  SYMBOLS="BTCUSDT", BOT_ID="ignored", BOT_OTHER_SYMBOLS="not one of ours", BOTANY="x")
    assert found["bot.main"].overrides == {"SMA_FAST": "3"}
    # Empty passes through: empty is unset, so that bot gets the setting's default.
    assert found["bot.eth-2"].overrides == {
        "SYMBOLS": "ETHUSDT", "STRATEGY": "mean_reversion", "MR_WINDOW": "30", "MAX_DAILY_LOSS": ""}


def test_a_variable_fitting_two_ids_goes_to_the_bot_whose_setting_it_names() -> None:
    found = plans(BOT_IDS="eth,eth_x", BOT_ETH_X_SYMBOLS="ETHUSDT", BOT_ETH_SYMBOLS="BTCUSDT")
    assert found["bot.eth_x"].overrides == {"SYMBOLS": "ETHUSDT"}  # X_SYMBOLS is no setting of eth
    assert found["bot.eth"].overrides == {"SYMBOLS": "BTCUSDT"}


def test_a_variable_that_is_a_setting_of_two_bots_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "_settings", lambda: frozenset({"FAST", "SMA_FAST"}))
    message = refused(BOT_IDS="a,a_sma", BOT_A_SMA_FAST="3")
    assert message == "BOT_A_SMA_FAST: ambiguous, it could be SMA_FAST of bot 'a' or FAST of bot 'a_sma'; " \
                      "rename one of the bots"


@pytest.mark.parametrize("variable", ["BOT_ETH_SYMBOL", "BOT_ETH_STRATEGY_NAME", "BOT_ETH_symbols"])
def test_a_misspelt_setting_is_refused_naming_the_variable(variable: str) -> None:
    message = refused(BOT_IDS="main,eth", **{variable: "ETHUSDT"})
    assert message.startswith(f"{variable}: {variable.removeprefix('BOT_ETH_')} is not a bot setting")
    assert "bot 'eth'" in message


@pytest.mark.parametrize("setting", ["BOT_ID", "REDIS_URL", "REDIS_PREFIX"])
def test_what_every_bot_must_share_cannot_be_set_per_bot(setting: str) -> None:
    message = refused(BOT_IDS="main,eth", **{f"BOT_ETH_{setting}": "other"})
    assert message.startswith(f"BOT_ETH_{setting}: {setting} cannot differ between bots")


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A strategy plug-in outside the project (`package.module`), with one parameter, TINYX_LEVEL."""
    package = f"tinyx_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "tiny.py").write_text(textwrap.dedent('''
        from pydantic import Field
        from bot.strategy.base import StrategyParams, StrategyPlugin

        class TinyParams(StrategyParams):
            level: int = Field(1, alias="TINYX_LEVEL")

        PLUGIN = StrategyPlugin("tinyx", TinyParams, lambda params: None)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{package}.tiny"
    for name in (f"{package}.tiny", package):
        sys.modules.pop(name, None)


def test_a_plug_in_strategys_parameters_may_be_set_for_the_bot_that_runs_it(plugin: str) -> None:
    found = plans(BOT_IDS="main,eth", BOT_ETH_STRATEGY=plugin, BOT_ETH_TINYX_LEVEL="3")
    assert found["bot.eth"].overrides == {"STRATEGY": plugin, "TINYX_LEVEL": "3"}
    message = refused(BOT_IDS="main,eth", BOT_ETH_STRATEGY=plugin, BOT_MAIN_TINYX_LEVEL="3")
    assert message.startswith("BOT_MAIN_TINYX_LEVEL: TINYX_LEVEL is not a bot setting")
    assert plans(BOT_IDS="main,eth", STRATEGY=plugin, BOT_MAIN_TINYX_LEVEL="3")["bot.main"].overrides


# --- processes -----------------------------------------------------------------------------------


def test_the_procfile_bot_line_is_expanded_in_place_once_per_bot() -> None:
    env = {"BOT_IDS": "main,eth", "BOT_ETH_SYMBOLS": "ETHUSDT", "SYMBOLS": "BTCUSDT", "PATH": "/bin"}
    processes = expand_processes(PROCFILE, env, plan_bots(env))
    assert [(name, cmd) for name, cmd, _ in processes] == [
        ("bot.main", PROCFILE["bot"]), ("bot.eth", PROCFILE["bot"]),
        ("recorder", PROCFILE["recorder"]), ("web", PROCFILE["web"])]
    envs = {name: process_env for name, _, process_env in processes}
    assert envs["bot.main"] == {**env, "BOT_ID": "main"}
    assert envs["bot.eth"] == {**env, "BOT_ID": "eth", "SYMBOLS": "ETHUSDT"}
    assert envs["recorder"] == envs["web"] == env  # they find the bots in Redis


def test_one_bot_by_default_named_bot_as_before() -> None:
    env = {"PATH": "/bin"}
    processes = expand_processes(PROCFILE, env, plan_bots(env))
    assert [name for name, _, _ in processes] == ["bot", "recorder", "web"]
    assert processes[0][2] == {"PATH": "/bin", "BOT_ID": "main"}


def test_each_bot_process_is_supervised_on_its_own(tmp_path: Path) -> None:
    """bot.eth killed: restarted, bot.main left alone; bot.eth in a crash loop: named, everything stops."""
    env = {**os.environ, "BOT_IDS": "main,eth", "BOT_ETH_SYMBOLS": "ETHUSDT"}
    procfile = {"bot": 'echo "id=$BOT_ID symbols=${SYMBOLS:-default}"; '
                       'if [ -e "$STOP_FILE" ] && [ "$BOT_ID" = eth ]; then exit 3; fi; exec sleep 300'}
    stop_file = tmp_path / "crash"
    env["STOP_FILE"] = str(stop_file)
    out = io.StringIO()
    supervisor = Supervisor(FAST, output=out)
    for name, cmd, process_env in expand_processes(procfile, env, plan_bots(env)):
        supervisor.add_process(name, cmd, env=process_env)
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.update(rc=supervisor.run()), daemon=True)
    thread.start()
    try:
        wait_for(lambda: supervisor.pid("bot.main") and supervisor.pid("bot.eth"), 10, "both bots")
        main_pid, eth_pid = supervisor.pid("bot.main"), supervisor.pid("bot.eth")
        assert eth_pid is not None
        os.kill(eth_pid, signal.SIGKILL)
        wait_for(lambda: supervisor.pid("bot.eth") not in (None, eth_pid), 10, "bot.eth restarted")
        assert supervisor.pid("bot.main") == main_pid and supervisor.starts("bot.main") == 1
        stop_file.touch()  # from now on bot.eth exits at once: a crash loop
        os.kill(supervisor.pid("bot.eth") or 0, signal.SIGKILL)
        thread.join(20)
        assert not thread.is_alive(), out.getvalue()
    finally:
        supervisor.request_stop(signal.SIGINT)
        thread.join(10)
    log = out.getvalue()
    assert result["rc"] == 1
    assert re.search(r"bot\.main +\| id=main symbols=default", log)
    assert re.search(r"bot\.eth +\| id=eth symbols=ETHUSDT", log)
    assert "bot.eth exited (killed by signal 9, SIGKILL)" in log
    assert "bot.eth keeps crashing: 5 exits in a row" in log and "prefixed 'bot.eth'" in log
    assert "bot.main stopped (killed by signal 15, SIGTERM)" in log
    assert supervisor.starts("bot.main") == 1


def test_the_launcher_refuses_bad_bot_ids_before_starting_anything(tmp_path: Path) -> None:
    env = {**os.environ, "BOT_IDS": "main,eth,main", "VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": "",
           "SQLITE_PATH": str(tmp_path / "db.sqlite3"), "REDIS_URL": "redis://127.0.0.1:1/0"}
    run = subprocess.run([sys.executable, "-m", "scripts.launch"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "launch: configuration error: BOT_IDS: bot id 'main' is listed twice" in run.stderr
    assert "started" not in run.stdout and "Redis" not in run.stdout  # no Redis, no migration, no process
    assert not (tmp_path / "db.sqlite3").exists() and not (tmp_path / "var").exists()
