"""`clearhouse`: the one command-line entry point.

    clearhouse demo [--port 8000]   migrate, seed, start web server + task worker + scheduler
    clearhouse scheduler [--once]   enqueue the periodic jobs once per period (the worker runs them)
    clearhouse db_worker            run enqueued tasks
    clearhouse verify               check the ledger and the audit chain
    clearhouse settle [--date YYYY-MM-DD] [--dry-run] [--merchant CODE]   run the settlement schedules due
    clearhouse bench [args]         run the benchmarks in bench/
    clearhouse <django command>     any Django management command (migrate, createsuperuser, ...)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearhouse.settings")
    import django

    django.setup()


def _manage(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearhouse.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["clearhouse", *argv])
    return 0


def demo(argv: list[str]) -> int:
    port = "8000"
    if "--port" in argv:
        port = argv[argv.index("--port") + 1]
    host = os.environ.get("CLEARHOUSE_HOST", "127.0.0.1")
    _django_setup()
    from django.conf import settings
    from django.core.management import call_command

    from clearhouse.web.demo import DEMO_USERS, demo_password, demo_totp_key

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo")
    python = sys.executable
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clearhouse.settings"}
    worker = subprocess.Popen([python, "-m", "clearhouse.cli", "db_worker", "--interval", "1"], env=env)
    scheduler = subprocess.Popen([python, "-m", "clearhouse.cli", "scheduler", "--interval", "15"], env=env)
    server = subprocess.Popen(
        [python, "-m", "gunicorn", "clearhouse.wsgi", "--bind", f"{host}:{port}", "--workers", "2",
         "--threads", "4", "--access-logfile", "-"],
        env=env,
    )
    url = f"http://{host}:{port}/"
    print(f"\nClearhouse demo is up: {url}")
    print(f"  API docs:  {url}api/v1/docs        admin: {url}admin/")
    print("  Demo logins (username / password):")
    for username, role, merchant in DEMO_USERS:
        extra = f" of merchant {merchant}" if merchant else ""
        print(f"    {username:10s} / {demo_password(username):22s} {role.value}{extra}")
    print("  Finance and admin roles sign in with a second factor. Add a key to an authenticator app,")
    print("  or print the current code with `clearhouse demo_totp USERNAME`:")
    for username, _role, _merchant in DEMO_USERS:
        key = demo_totp_key(username)
        if key:
            print(f"    {username:10s} TOTP key {key}")
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        print(f"  Emails are written to {settings.EMAIL_FILE_PATH}, SMS to {settings.CLEARHOUSE_SMS_FILE_PATH}.")
    print("  Stop with Ctrl-C.\n", flush=True)
    return _wait(server, worker, scheduler)


def _wait(*procs: subprocess.Popen) -> int:
    def stop(*_):
        for p in procs:
            if p.poll() is None:
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    return 0


def bench(argv: list[str]) -> int:
    from bench.run import main as bench_main

    return bench_main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return demo(rest)
    if command == "bench":
        return bench(rest)
    if command == "manage":
        return _manage(rest)
    return _manage(argv)  # verify, migrate, createsuperuser, db_worker, ...


if __name__ == "__main__":
    sys.exit(main())
