"""Pure text rules: hashtags, links, URL normalisation, excerpts, post classification."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from api.db.enums import PostKind

# Unicode-aware: `#Führung` and `#リーダー` are hashtags; `#` inside a word (`C#`) is not.
HASHTAG = re.compile(r"(?<![\w#&])#(\w[\w-]*)", re.UNICODE)
URL = re.compile(r"https?://[^\s<>\"'()\[\]]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""
TRACKING_PARAMS = {"fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "igshid", "si", "ref", "ref_src"}
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]{12,})[\"“”„«»]", re.UNICODE)


class InvalidHashtag(ValueError):
    pass


def normalise_hashtag(raw: str) -> str:
    """The stored form of a hashtag: trimmed, one leading '#' dropped, lower-cased.

    Raises InvalidHashtag for empty input, spaces, a '#' in the middle, or punctuation.
    """
    tag = raw.strip()
    if tag.startswith("#"):
        tag = tag[1:]
    if not tag:
        raise InvalidHashtag("A hashtag needs at least one letter or digit.")
    if any(ch.isspace() for ch in tag):
        raise InvalidHashtag("A hashtag cannot contain spaces.")
    if not re.fullmatch(r"\w[\w-]*", tag, re.UNICODE):
        raise InvalidHashtag("A hashtag may contain only letters, digits, '_' and '-'.")
    return tag.lower()


def hashtags(body: str) -> list[str]:
    """Hashtags in a post body, lower-cased, in order of first appearance, without repeats."""
    seen: dict[str, None] = {}
    for match in HASHTAG.finditer(body):
        tag = match.group(1).rstrip("-").lower()
        if tag and not tag.isdigit():
            seen.setdefault(tag, None)
    return list(seen)


def links(body: str) -> list[str]:
    return [match.group(0).rstrip(_TRAILING_PUNCTUATION) for match in URL.finditer(body)]


def normalise_url(url: str) -> str:
    """The form two links are compared in.

    http and https, host case, default ports, a trailing slash, the fragment, tracking
    parameters (utm_*, fbclid, ...) and the order of the remaining parameters do not matter.
    Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("not an absolute http(s) URL")
    host = parts.hostname.lower()
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMS
    )
    return urlunsplit(("https", host, path, urlencode(query), ""))


def excerpt(body: str, limit: int = 140) -> str:
    """The first ``limit`` characters of the body, cut at a word boundary."""
    text = " ".join(body.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else text[:limit]).rstrip(" ,;:-")


def _without_links_and_tags(body: str) -> str:
    return " ".join(HASHTAG.sub(" ", URL.sub(" ", body)).split())


def is_quote(body: str) -> bool:
    """Mainly a quotation: quoted text makes up at least half of what is said."""
    text = _without_links_and_tags(body)
    if not text:
        return False
    if text.startswith(">"):
        return True
    quoted = sum(len(match.group(1)) for match in _QUOTED.finditer(text))
    return quoted * 2 >= len(text)


def is_question(body: str) -> bool:
    """It asks: a question mark outside any quotation."""
    return "?" in _QUOTED.sub(" ", _without_links_and_tags(body))


def classify(
    body: str,
    *,
    links_resource: bool,
    by_topic_manager: bool,
    on_campaign_topic: bool,
    message_type: str = "update",
) -> PostKind:
    if message_type.lower() == "announcement":
        return PostKind.ANNOUNCEMENT
    if links_resource:
        return PostKind.RESOURCE
    if is_quote(body):
        return PostKind.QUOTE
    if is_question(body):
        return PostKind.QUESTION
    if by_topic_manager and on_campaign_topic:
        return PostKind.TIP
    return PostKind.OTHER
