"""Message bodies: hashtags, links and Yammer's plain / parsed / rich renderings."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable

# Links first, so a "#fragment" inside a URL is not taken for a hashtag.
URL = re.compile(r"https?://[^\s<>\"]+")
# Unicode-aware: #café and #日本語 are topics too; "&#39;" style entities are not.
HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
TRAILING = ".,;:!?)'\""


def normalise_topic(name: str) -> str:
    return unicodedata.normalize("NFC", name).lower()


def segments(text: str) -> list[tuple[str, str]]:
    """Split a body into ("text" | "url" | "tag", fragment) pieces; tags without the "#"."""
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        pieces += _tags(text[position : match.start()])
        pieces.append(("url", url))
        position = match.start() + len(url)
    pieces += _tags(text[position:])
    return [piece for piece in pieces if piece[1]]


def _tags(text: str) -> list[tuple[str, str]]:
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in HASHTAG.finditer(text):
        pieces.append(("text", text[position : match.start()]))
        pieces.append(("tag", match.group(1)))
        position = match.end()
    pieces.append(("text", text[position:]))
    return pieces


def hashtags(text: str) -> list[str]:
    """Hashtags as written (without "#"), first occurrence of each normalised name."""
    seen: dict[str, str] = {}
    for kind, value in segments(text):
        if kind == "tag":
            seen.setdefault(normalise_topic(value), value)
    return list(seen.values())


def urls(text: str) -> list[str]:
    return [value for kind, value in segments(text) if kind == "url"]


def render_body(text: str, tag_id: Callable[[str], int | None]) -> dict[str, object]:
    """Yammer's body object; ``tag_id`` maps a hashtag to its ``[[tag:ID]]`` id."""
    parsed: list[str] = []
    rich: list[str] = []
    for kind, value in segments(text):
        if kind == "url":
            parsed.append(value)
            link = html.escape(value)
            rich.append(f'<a href="{link}" rel="nofollow noreferrer" target="_blank">{link}</a>')
        elif kind == "tag" and (tid := tag_id(value)) is not None:
            parsed.append(f"[[tag:{tid}]]")
            rich.append(
                f'<span class="yammer-object" data-yammer-object="tag:{tid}">'
                f"#{html.escape(value)}</span>"
            )
        else:
            shown = f"#{value}" if kind == "tag" else value
            parsed.append(shown)
            rich.append(html.escape(shown))
    return {"parsed": "".join(parsed), "plain": text, "rich": "".join(rich), "urls": urls(text)}
