"""`make run`: find or start Redis, migrate, ensure an admin, run and supervise every service.

Every process in the Procfile (and the embedded Redis) runs under one `Supervisor`
(scripts/supervise.py, built on honcho's pieces): one that exits is restarted with back-off, a
crash loop stops everything with a message naming the process, and Ctrl-C or SIGTERM stops them
all (SIGTERM to each process group, SIGKILL after 5 s), so no orphan survives the launcher.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from honcho.environ import parse_procfile

from bot_api.redis_conn import mask_url
from bot_api.settings import DEFAULT_REDIS_URL
from crypto_bot_ui.env import ServeSettings, load
from scripts import embedded_redis
from scripts.supervise import Supervisor

ROOT = Path(__file__).resolve().parent.parent


def build_env() -> dict[str, str]:
    """The environment every child gets: the venv first on PATH, defaults filled in."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("VAR_DIR", str(ROOT / "var"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def choose_redis(env: dict[str, str], supervisor: Supervisor) -> None:
    """Use REDIS_URL if it answers; otherwise add an embedded redis-server to the supervisor."""
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
    """Run every service until Ctrl-C or SIGTERM (exit code 130/143) or a crash loop (1)."""
    os.chdir(ROOT)
    env = build_env()
    supervisor = Supervisor()
    choose_redis(env, supervisor)
    prepare_database(env)
    procfile = parse_procfile((ROOT / "Procfile").read_text())
    for name, cmd in procfile.processes.items():
        supervisor.add_process(name, cmd, env=env, cwd=str(ROOT))
    where = load(ServeSettings, env)
    url = f"http://{where.web_host}:{where.web_port}/"
    print(f"launch: starting {', '.join(procfile.processes)}; dashboard at {url}", flush=True)
    stop = threading.Event()
    threading.Thread(target=announce_when_ready, args=(url, stop), daemon=True).start()
    try:
        return supervisor.run()
    finally:
        stop.set()


if __name__ == "__main__":
    sys.exit(main())
