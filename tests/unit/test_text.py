"""Hashtags, links, URL normalisation, excerpts and post classification (api.domain.text)."""

from __future__ import annotations

import pytest

from api.domain.enums import PostKind
from api.domain.text import (
    InvalidHashtag,
    classify,
    excerpt,
    hashtags,
    is_question,
    is_quote,
    links,
    normalise_hashtag,
    normalise_url,
)

# -- normalise_hashtag ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("#leadership", "leadership"),
        ("leadership", "leadership"),
        ("#Leadership", "leadership"),
        ("MANAGING", "managing"),
        ("  #change  ", "change"),
        ("#Führung", "führung"),
        ("#リーダー", "リーダー"),
        ("#social_media", "social_media"),
        ("#work-life", "work-life"),
        ("#HR2025", "hr2025"),
    ],
)
def test_normalise_hashtag(raw: str, stored: str) -> None:
    assert normalise_hashtag(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "#",
        "# ",
        "#social media",
        "social\tmedia",
        "lead#ership",
        "##leadership",
        "C#",
        "#leadership!",
        "#-leadership",
    ],
)
def test_normalise_hashtag_refuses(raw: str) -> None:
    with pytest.raises(InvalidHashtag):
        normalise_hashtag(raw)


def test_invalid_hashtag_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="spaces"):
        normalise_hashtag("#social media")


def test_normalised_hashtag_is_idempotent() -> None:
    once = normalise_hashtag("#Führung")
    assert normalise_hashtag(once) == once


@pytest.mark.parametrize("raw", ["#Leadership", "Führung", "#work-life", "#change-", "#2024"])
def test_a_topic_hashtag_matches_posts_that_use_it(raw: str) -> None:
    # A topic's stored hashtag must be what hashtags() finds in a post that uses the tag;
    # otherwise the topic accepts a hashtag no post can ever be counted under.
    try:
        stored = normalise_hashtag(raw)
    except InvalidHashtag:
        return  # refusing it is fine too
    assert hashtags(f"Today's tip #{raw.lstrip('#')}") == [stored]


# -- hashtags ---------------------------------------------------------------------------------


def test_hashtags_in_order_lower_cased_without_repeats() -> None:
    body = "Start with #Leadership, then #change. More #leadership and #LEADERSHIP #Change!"
    assert hashtags(body) == ["leadership", "change"]


def test_hashtags_unicode() -> None:
    assert hashtags("Neu: #Führung und #リーダー und #équipe") == ["führung", "リーダー", "équipe"]


def test_hashtags_with_combining_marks() -> None:
    # Devanagari vowel signs and the virama are combining marks (categories Mc/Mn), not \w.
    assert hashtags("नेतृत्व पर #हिन्दी में") == ["हिन्दी"]


def test_hashtags_decomposed_unicode_matches_composed() -> None:
    # Text from some systems arrives decomposed (NFD: 'u' + U+0308 for 'ü'); it is the same
    # hashtag as the composed form a topic was created with.
    assert hashtags("#Fu\u0308hrung") == ["führung"]


def test_normalise_hashtag_with_combining_marks() -> None:
    assert normalise_hashtag("#हिन्दी") == "हिन्दी"
    assert normalise_hashtag("#Fu\u0308hrung") == "führung"


def test_hashtag_inside_a_word_is_not_one() -> None:
    assert hashtags("We write C# and F# at work") == []
    assert hashtags("mail me at lead#ership or use &#39; entities") == []


def test_numbers_only_are_not_hashtags() -> None:
    assert hashtags("Fixed in issue #42 and #2024, see #2024goals") == ["2024goals"]


def test_trailing_punctuation_is_not_part_of_the_hashtag() -> None:
    body = "#tips. #change, #engagement! #managing? (#leadership) #work-life- #social_media"
    assert hashtags(body) == [
        "tips",
        "change",
        "engagement",
        "managing",
        "leadership",
        "work-life",
        "social_media",
    ]


def test_no_hashtags() -> None:
    assert hashtags("") == []
    assert hashtags("Nothing to see # here, 100% sure") == []


def test_url_fragments_are_not_hashtags() -> None:
    body = "Episode notes: https://podcasts.example.com/engaged-managers/#episode-3 #engagement"
    assert hashtags(body) == ["engagement"]


# -- links ------------------------------------------------------------------------------------


def test_links_in_order() -> None:
    body = "Listen https://podcasts.example.com/ep1 and read http://hbr.org/2007/02/incomplete"
    assert links(body) == [
        "https://podcasts.example.com/ep1",
        "http://hbr.org/2007/02/incomplete",
    ]


def test_links_drop_trailing_punctuation_and_brackets() -> None:
    body = (
        "Listen: https://podcasts.example.com/ep1. Also https://example.com/x, "
        '(see https://example.com/y) and "https://example.com/z"! https://example.com/q?a=1?'
    )
    assert links(body) == [
        "https://podcasts.example.com/ep1",
        "https://example.com/x",
        "https://example.com/y",
        "https://example.com/z",
        "https://example.com/q?a=1",
    ]


def test_links_keep_query_and_fragment() -> None:
    assert links("go to https://lms.example.com/course?id=12&tab=2#intro now") == [
        "https://lms.example.com/course?id=12&tab=2#intro"
    ]


def test_links_scheme_is_case_insensitive() -> None:
    assert links("HTTPS://Example.com/x") == ["HTTPS://Example.com/x"]


def test_links_in_html() -> None:
    assert links('<a href="https://example.com/y">a podcast</a>') == ["https://example.com/y"]


def test_no_links() -> None:
    assert links("no links, not even www.example.com or ftp://example.com/file") == []


def test_links_with_parentheses_in_the_path() -> None:
    body = "Background: https://en.wikipedia.org/wiki/Leadership_(disambiguation) worth a read"
    assert links(body) == ["https://en.wikipedia.org/wiki/Leadership_(disambiguation)"]


# -- normalise_url ----------------------------------------------------------------------------

CANONICAL = "https://podcasts.example.com/engaged-managers"


@pytest.mark.parametrize(
    "url",
    [
        "https://podcasts.example.com/engaged-managers",
        "http://podcasts.example.com/engaged-managers",
        "HTTPS://Podcasts.Example.COM/engaged-managers",
        "https://podcasts.example.com:443/engaged-managers",
        "http://podcasts.example.com:80/engaged-managers",
        "https://podcasts.example.com/engaged-managers/",
        "https://podcasts.example.com/engaged-managers#episode-2",
        "https://podcasts.example.com/engaged-managers?utm_source=yammer&utm_medium=post",
        "https://podcasts.example.com/engaged-managers?UTM_Campaign=x&fbclid=abc123",
        "https://podcasts.example.com/engaged-managers?",
        "  https://podcasts.example.com/engaged-managers  ",
    ],
)
def test_normalise_url_ignores_what_does_not_matter(url: str) -> None:
    assert normalise_url(url) == CANONICAL


def test_normalise_url_sorts_parameters_and_keeps_real_ones() -> None:
    a = normalise_url("https://lms.example.com/course?tab=2&id=12&utm_source=mail")
    b = normalise_url("http://LMS.example.com/course/?id=12&fbclid=x&tab=2#top")
    assert a == b == "https://lms.example.com/course?id=12&tab=2"


def test_normalise_url_keeps_what_matters() -> None:
    assert normalise_url("https://example.com:8443/a") == "https://example.com:8443/a"
    assert normalise_url("https://example.com/Course") != normalise_url(
        "https://example.com/course"
    )
    assert normalise_url("https://example.com/a?id=1") != normalise_url(
        "https://example.com/a?id=2"
    )
    assert normalise_url("https://example.com/a") != normalise_url("https://example.com/b")


def test_normalise_url_root() -> None:
    assert normalise_url("http://Example.com/") == normalise_url("https://example.com")


def test_normalise_url_is_idempotent() -> None:
    once = normalise_url("http://LMS.example.com/course/?tab=2&id=12&utm_source=x#top")
    assert normalise_url(once) == once


def test_normalise_url_ipv6_host_stays_a_url() -> None:
    assert normalise_url("http://[2001:db8::1]:8080/x") == "https://[2001:db8::1]:8080/x"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/page",
        "www.example.com",
        "/relative/path",
        "//example.com/page",
        "ftp://example.com/file",
        "mailto:lead@example.com",
        "javascript:alert(1)",
        "https://",
        "http:///path",
    ],
)
def test_normalise_url_refuses_non_http(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        normalise_url(url)


# -- excerpt ----------------------------------------------------------------------------------


def test_short_body_is_kept_whole_with_whitespace_folded() -> None:
    assert excerpt("  A quick\tthought\n\nfrom  The Carrot Principle  ") == (
        "A quick thought from The Carrot Principle"
    )


def test_excerpt_cuts_at_a_word_boundary() -> None:
    body = " ".join(["recognition"] * 30)  # 359 characters
    text = excerpt(body)
    assert len(text) <= 140
    assert body.startswith(text)
    assert text.endswith("recognition")
    assert body[len(text)] == " "
    assert len(text) > 140 - len(" recognition")


def test_excerpt_exactly_at_the_limit() -> None:
    body = "x" * 140
    assert excerpt(body) == body
    assert excerpt(body + " more") == body


def test_excerpt_does_not_end_in_punctuation_or_space() -> None:
    assert excerpt("a" * 135 + ", " + "b" * 20) == "a" * 135
    assert excerpt("a" * 130 + ", then -- " + "b" * 50) == "a" * 130 + ", then"


def test_excerpt_of_one_long_word_is_cut_hard() -> None:
    assert excerpt("y" * 500) == "y" * 140


def test_excerpt_limit() -> None:
    assert excerpt("one two three four", limit=9) == "one two"
    assert excerpt("") == ""


def test_excerpt_folds_whitespace_before_counting() -> None:
    body = "word" + " " * 300 + "end"
    assert excerpt(body) == "word end"


# -- is_quote / is_question -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '"Incomplete leaders know what they are missing." — Deborah Ancona #leadership',
        "“What gets recognised gets repeated.” The Carrot Principle https://example.com/book",
        "„Führung heißt, anderen Raum zu geben.“",
        "> Nobody is a complete leader; the sooner you know it the better.",
        "«Les leaders incomplets savent déléguer.»",
    ],
)
def test_is_quote(body: str) -> None:
    assert is_quote(body)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "#leadership https://example.com/a",
        'Our team said "thank you" more often this week and it made a real difference to morale.',
        "A quick tip: praise in public, correct in private. #managing",
        'Short "quote" only',
    ],
)
def test_is_not_quote(body: str) -> None:
    assert not is_quote(body)


@pytest.mark.parametrize(
    "body",
    [
        "What motivates your team? #engagement",
        "How do you recognise good work?",
        'Ancona says "leaders are incomplete". Do you agree?',
    ],
)
def test_is_question(body: str) -> None:
    assert is_question(body)


@pytest.mark.parametrize(
    "body",
    [
        "Praise in public. #managing",
        "Read https://lms.example.com/course?id=12 today",
        "“What gets recognised gets repeated, does it not?” — The Carrot Principle",
        "",
    ],
)
def test_is_not_question(body: str) -> None:
    assert not is_question(body)


# -- classify ---------------------------------------------------------------------------------

QUOTE = '"Incomplete leaders know what they are missing." — Ancona'
QUESTION = "What motivates your team?"
TIP = "Praise in public, correct in private."


def kind(body: str, **flags: object) -> PostKind:
    defaults: dict[str, object] = {
        "links_resource": False,
        "by_topic_manager": False,
        "on_campaign_topic": False,
    }
    return classify(body, **{**defaults, **flags})  # type: ignore[arg-type]


def test_announcement_beats_everything() -> None:
    for message_type in ("announcement", "Announcement", "ANNOUNCEMENT"):
        assert (
            kind(
                QUOTE + " " + QUESTION,
                links_resource=True,
                by_topic_manager=True,
                on_campaign_topic=True,
                message_type=message_type,
            )
            is PostKind.ANNOUNCEMENT
        )


def test_resource_beats_quote_question_and_tip() -> None:
    body = QUOTE + " " + QUESTION
    assert kind(body, links_resource=True, by_topic_manager=True, on_campaign_topic=True) is (
        PostKind.RESOURCE
    )


def test_quote_beats_question_and_tip() -> None:
    body = QUOTE + " Agree?"
    assert is_question(body)
    assert kind(body, by_topic_manager=True, on_campaign_topic=True) is PostKind.QUOTE


def test_question_beats_tip() -> None:
    assert kind(QUESTION, by_topic_manager=True, on_campaign_topic=True) is PostKind.QUESTION


def test_tip_needs_a_topic_manager_on_a_campaign_topic() -> None:
    assert kind(TIP, by_topic_manager=True, on_campaign_topic=True) is PostKind.TIP
    assert kind(TIP, by_topic_manager=True, on_campaign_topic=False) is PostKind.OTHER
    assert kind(TIP, by_topic_manager=False, on_campaign_topic=True) is PostKind.OTHER


def test_other() -> None:
    assert kind(TIP) is PostKind.OTHER
    assert kind("", message_type="update") is PostKind.OTHER
    assert kind(TIP, message_type="system") is PostKind.OTHER
