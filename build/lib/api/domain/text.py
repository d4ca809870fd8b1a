"""Pure text rules: hashtags, links, URL normalisation, excerpts, post classification."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# `regex`, not `re`: hashtags need \p{M} (combining marks), or `#हिन्दी` is cut to one letter.
import regex

from api.domain.enums import PostKind

# Unicode-aware: `#Führung` and `#リーダー` are hashtags; `#` inside a word (`C#`) is not.
_TAG = r"[\w\p{M}](?:[\w\p{M}-]*[\w\p{M}])?"
HASHTAG = regex.compile(rf"(?<![\w\p{{M}}#&])#({_TAG})(?![\w\p{{M}}#])")
# Balanced parentheses stay in a link (Wikipedia's `Leadership_(disambiguation)`); a link
# inside parentheses, `(see https://x/y)`, does not take the closing one.
URL = re.compile(r"https?://(?:[^\s<>\"'()\[\]]|\([^\s<>\"'()]*\))+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""
TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "si",
    "ref",
    "ref_src",
}
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]{12,})[\"“”„«»]", re.UNICODE)


class InvalidHashtag(ValueError):
    pass


def normalise_hashtag(raw: str) -> str:
    """The stored form of a hashtag: trimmed, one leading '#' dropped, lower-cased.

    Raises InvalidHashtag for empty input, spaces, a '#' in the middle, or punctuation.
    """
    tag = unicodedata.normalize("NFC", raw.strip())
    if tag.startswith("#"):
        tag = tag[1:]
    if not tag:
        raise InvalidHashtag("A hashtag needs at least one letter or digit.")
    if any(ch.isspace() for ch in tag):
        raise InvalidHashtag("A hashtag cannot contain spaces.")
    # Exactly what hashtags() would find in a post, or a topic could never be matched.
    if not regex.fullmatch(_TAG, tag) or tag.isdigit():
        raise InvalidHashtag(
            "A hashtag is letters, digits, '_' and inner '-', and not only digits."
        )
    return tag.lower()


def hashtags(body: str) -> list[str]:
    """Hashtags in a post body, lower-cased, in order of first appearance, without repeats."""
    seen: dict[str, None] = {}
    # Links go first: `https://x/page#section` has a fragment, not a hashtag.
    text = URL.sub(" ", unicodedata.normalize("NFC", body))
    for match in HASHTAG.finditer(text):
        tag = match.group(1).lower()
        if not tag.isdigit():
            seen.setdefault(tag, None)
    return list(seen)


def _trim(link: str) -> str:
    """Drop sentence punctuation after a link, but keep a ')' that closes one in it."""
    while link and link[-1] in _TRAILING_PUNCTUATION:
        if link[-1] == ")" and link.count("(") >= link.count(")"):
            break
        link = link[:-1]
    return link


def links(body: str) -> list[str]:
    return [_trim(match.group(0)) for match in URL.finditer(body)]


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
    if ":" in host:  # IPv6 literals keep their brackets
        host = f"[{host}]"
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMS
    )
    return urlunsplit(("https", host, path, urlencode(query), ""))


def normalised_links(body: str) -> list[str]:
    """The links of a body in the form resources are matched by; malformed ones left out."""
    out = []
    for link in links(body):
        try:
            out.append(normalise_url(link))
        except ValueError:
            continue
    return out


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
