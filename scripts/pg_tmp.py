#!/usr/bin/env python3
"""A throwaway PostgreSQL cluster for tests and benchmarks.

    python scripts/pg_tmp.py start DIR   # initdb + start on a unix socket in DIR; prints DATABASE_URL
    python scripts/pg_tmp.py stop DIR    # stop it

initdb and postgres refuse to run as root, so as root they run as the
`postgres` system user (created if absent). Durable settings are kept
(fsync on, synchronous_commit on): benchmarks measure real commits.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PORT = int(os.environ.get("CLEARHOUSE_PG_PORT", "54329"))


def pg_bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    subprocess.run(["id", "postgres"], check=False, capture_output=True).returncode == 0 or subprocess.run(
        ["useradd", "--system", "--create-home", "postgres"], check=True
    )
    return ["runuser", "-u", "postgres", "--", *cmd]


def database_url(base: Path, dbname: str = "clearhouse") -> str:
    return f"postgres://postgres@/{dbname}?host={base / 'run'}&port={PORT}"


def start(base: Path) -> str:
    base = base.resolve()
    data, run = base / "data", base / "run"
    bindir = pg_bindir()
    run.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    if os.geteuid() == 0:
        _as_owner(["true"])
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(run, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_owner([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                       "--encoding=UTF8", "--locale=C.UTF-8"]),
            check=True, stdout=subprocess.DEVNULL,
        )
    options = (
        f"-k {run} -p {PORT} -c listen_addresses='' -c fsync=on -c synchronous_commit=on "
        f"-c max_connections=200 -c shared_buffers=256MB"
    )
    subprocess.run(
        _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "server.log"),
                   "-w", "-t", "60", "start"]),
        check=True, stdout=subprocess.DEVNULL,
    )
    for _ in range(60):
        ready = subprocess.run([str(bindir / "pg_isready"), "-h", str(run), "-p", str(PORT)], capture_output=True)
        if ready.returncode == 0:
            break
        time.sleep(0.5)
    subprocess.run(
        [str(bindir / "psql"), "-h", str(run), "-p", str(PORT), "-U", "postgres", "-d", "postgres", "-q", "-c",
         "CREATE DATABASE clearhouse"],
        check=False, capture_output=True,
    )
    return database_url(base)


def stop(base: Path) -> None:
    data = base.resolve() / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(_as_owner([str(pg_bindir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       check=False, stdout=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:
        print(__doc__)
        return 2
    if argv[0] == "start":
        print(start(Path(argv[1])))
    else:
        stop(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
