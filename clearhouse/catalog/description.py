"""Product descriptions: merchants write plain text with a little markdown; we render it safely.

Everything is HTML-escaped first, so a description can never inject markup or
script; only the few constructs below become tags: blank-line paragraphs,
line breaks, `- ` bullet lists, `**bold**` and `*italic*`. No links or
images: a merchant's text must not send shoppers elsewhere.
"""

from __future__ import annotations

import html
import re

MAX_DESCRIPTION_LENGTH = 20_000
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"\*(?=\S)(.+?)(?<=\S)\*")


def _inline(text: str) -> str:
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _ITALIC.sub(r"<em>\1</em>", text)


def _block(lines: list[str]) -> str:
    if all(line.startswith("- ") for line in lines):
        items = "".join(f"<li>{_inline(line[2:].strip())}</li>" for line in lines)
        return f"<ul>{items}</ul>"
    return "<p>" + "<br>".join(_inline(line) for line in lines) + "</p>"


def render_description(text: str) -> str:
    """The description as safe HTML (escaped, then a small markdown subset)."""
    escaped = html.escape(text.replace("\r\n", "\n"), quote=True)
    blocks = [
        [line.strip() for line in chunk.split("\n") if line.strip()]
        for chunk in re.split(r"\n\s*\n", escaped)
    ]
    return "".join(_block(lines) for lines in blocks if lines)
