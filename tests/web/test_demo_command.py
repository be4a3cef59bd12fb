"""The README's first command: `clearhouse demo` brings up a working server.

Runs the real command in a subprocess (gunicorn + task worker) on a temporary
SQLite database and a free port, then checks the API docs and a demo login.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from django.conf import settings
from django_otp.oath import totp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "CLEARHOUSE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "clearhouse.cli", "demo", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Stop with Ctrl-C" in line or proc.poll() is not None:
                break
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        yield base, "".join(lines)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="demo runs on SQLite")
def test_demo_serves_the_api_docs_and_the_printed_admin_login_works(demo_server):
    base, output = demo_server
    assert f"Clearhouse demo is up: {base}/" in output
    password = re.search(r"admin\s+/\s+(\S+)", output).group(1)
    spec = json.load(urllib.request.urlopen(f"{base}/api/v1/openapi.json"))
    assert "/api/v1/ledger/entries" in spec["paths"]
    docs = urllib.request.urlopen(f"{base}/api/v1/docs").read().decode()
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', docs).group(1)
    assert bundle.startswith("/static/")  # served by us: no CDN, machines may be offline
    assert urllib.request.urlopen(f"{base}{bundle}").status == 200

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(f"{base}/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    form = urllib.parse.urlencode({"username": "admin", "password": password, "csrfmiddlewaretoken": token,
                                   "next": "/admin/"}).encode()
    page = opener.open(urllib.request.Request(f"{base}/admin/login/", data=form, headers={"Referer": base}))
    assert "/accounts/mfa/verify/" in page.url  # admin is a role that needs its second factor
    key = re.search(r"admin\s+TOTP key (\S+)", output).group(1)
    code = f"{totp(base64.b32decode(key + '=' * (-len(key) % 8))):06d}"
    verify_page = page.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', verify_page).group(1)
    form = urllib.parse.urlencode({"token": code, "csrfmiddlewaretoken": token, "next": "/admin/"}).encode()
    page = opener.open(urllib.request.Request(page.url, data=form, headers={"Referer": base}))
    body = page.read().decode()
    assert page.url.endswith("/admin/")
    assert "Journal entries" in body and "Log out" in body
    tb = opener.open(f"{base}/ledger/trial-balance/").read().decode()
    assert "Debits equal credits in every currency." in tb
