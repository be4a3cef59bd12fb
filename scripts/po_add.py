"""Add zh-Hans translations to clearhouse/locale safely while other people do the same.

    python scripts/po_add.py translations.json     # {"English msgid": "中文", ...}

Holds an exclusive lock on the catalogue while it reads, merges (never
changing an existing translation) and writes it with babel, then compiles.
Never run `makemessages`: it rewrites the whole file.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "clearhouse/locale/zh_Hans/LC_MESSAGES/django.po"


def main(path: str) -> int:
    pairs = json.loads(Path(path).read_text(encoding="utf-8"))
    with open(PO.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with PO.open("rb") as f:
            catalog = read_po(f, locale="zh_Hans")
        added = 0
        for msgid, msgstr in pairs.items():
            if msgid not in catalog or not catalog[msgid].string:
                catalog.add(msgid, msgstr)
                added += 1
        with PO.open("wb") as f:
            write_po(f, catalog, width=76)
        subprocess.run([sys.executable, "-m", "django", "compilemessages", "--ignore", ".venv/*"],
                       cwd=PO.parents[3], check=True, capture_output=True,
                       env={"DJANGO_SETTINGS_MODULE": "clearhouse.settings", **__import__("os").environ})
    print(f"added {added} of {len(pairs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
