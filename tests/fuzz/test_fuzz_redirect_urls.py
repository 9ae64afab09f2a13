"""Fuzzing the redirect URL checks (issue 9): the merchant's success_url/cancel_url, the
session_id appended to them on the way back, and the portal's ``next`` after a login. A URL
either is refused with a 400 or leads exactly where it says, as a browser reads it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from flask import redirect
from fuzz_support import ANY_TEXT, fuzz
from hypothesis import given
from hypothesis import strategies as st

from kadosei.errors import KadoseiError
from kadosei.portal.auth import same_site_next
from kadosei.schemas.limits import URL_MAX
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import PaymentSessionCreate
from kadosei.services.checkout_links import with_session_id

# Pieces a URL is made of: mostly what a merchant writes, with the characters parsers
# disagree about mixed in now and then.
TRICKY = [*"\\@#? \t\r\n\x00\x7f[]", "%2f", "%5c", "%40", "\u3002", "\uff0f", "é", "//"]
SAFE = list("abcxyz019-_~./%=&;:!$'()*+,")
PIECES = st.lists(st.sampled_from(SAFE * 12 + TRICKY), max_size=12).map("".join)
HOSTS = st.sampled_from(
    ["shop.example", "SHOP.example", "pay.shop.example.", "localhost", "127.0.0.1", "[::1]"]
)
ODD_HOSTS = (
    st.sampled_from(
        ["xn--bcher-kva.example", "bücher.example", "a..b", "-a.example", "1.2.3", "", "[::1"]
    )
    | PIECES
)
PATHS = st.sampled_from(["", "/"]) | PIECES.map(lambda piece: "/" + piece)
QUERIES = st.sampled_from(
    ["", "?", "?session_id=old", "?a=1&session_id=x&b", "?a=%20b&&c=", "?session_id"]
) | PIECES.map(lambda piece: "?" + piece)
FRAGMENTS = st.sampled_from(["", "#", "#top"]) | PIECES.map(lambda piece: "#" + piece)


def _url(scheme, slashes, userinfo, host, port, path, query, fragment) -> str:
    return f"{scheme}{slashes}{userinfo}{host}{port}{path}{query}{fragment}"


URLS = st.one_of(
    # What a merchant writes: valid but for the odd path, query or fragment character.
    st.builds(
        _url,
        st.sampled_from(["https:", "http:"]),
        st.just("//"),
        st.just(""),
        HOSTS,
        st.sampled_from(["", ":443", ":8443"]),
        PATHS,
        QUERIES,
        FRAGMENTS,
    ),
    # What an attacker writes: every part may be the odd one.
    st.builds(
        _url,
        st.sampled_from(["https:", "http:", "HTTPS:", "javascript:", "ftp:", "", "https"]),
        st.sampled_from(["//", "/", "///", "\\\\", "/\\", ""]),
        st.sampled_from(["", "user@", "a:b@", "good.example@"]),
        HOSTS | ODD_HOSTS,
        st.sampled_from(["", ":443", ":0", ":99999", ":x", ":"]),
        PATHS,
        QUERIES,
        FRAGMENTS,
    ),
    ANY_TEXT,
)
SESSION_IDS = st.from_regex(r"\Aps_[0-9A-Za-z]{24}\Z") | ANY_TEXT.filter(bool)
_AUTHORITY = re.compile(r"\A[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")


SESSION = {"amount": 1999, "currency": "EUR", "payment_method": "card"}


def _checked(url: str, mode: str) -> str | None:
    """The session model's verdict on ``url`` as a success_url: the URL, or None for a 400."""
    body = {**SESSION, "success_url": url, "cancel_url": "https://shop.example/cart"}
    try:
        return parse(PaymentSessionCreate, body, context={"mode": mode}).success_url
    except KadoseiError as exc:
        assert exc.status == 400 and exc.param == "success_url"
        return None


def _host_a_browser_sees(url: str) -> str:
    """The WHATWG reading of an http(s) URL's host, for the URLs ``redirect_url`` lets by:
    tabs and newlines dropped, the authority ends at the first / ? or #."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip("\x00 "))
    authority = _AUTHORITY.match(cleaned)
    assert authority, url
    host = authority.group(1).rpartition("@")[2]
    if host.startswith("["):
        return host[: host.index("]") + 1].lower()
    return host.partition(":")[0].lower()


@pytest.mark.parametrize("mode", ["test", "live"])
@fuzz(150)
@given(url=URLS)
def test_a_return_url_is_refused_or_leads_to_the_host_it_names(app, mode, url):
    accepted = _checked(url, mode)
    if accepted is None:
        return
    parts = urlsplit(accepted)
    assert accepted == url
    assert parts.scheme == "https" or (parts.scheme == "http" and mode == "test")
    hostname = parts.hostname or ""
    seen = _host_a_browser_sees(url)
    assert seen in (hostname, f"[{hostname}]")
    assert hostname and "@" not in parts.netloc


@fuzz(150)
@given(url=URLS, session_id=SESSION_IDS)
def test_the_session_id_is_appended_and_nothing_else_changes(app, url, session_id):
    accepted = _checked(url, "test")
    if accepted is None:
        return
    before = urlsplit(accepted)

    landed = with_session_id(accepted, session_id)

    after = urlsplit(landed)
    assert (after.scheme, after.netloc, after.path) == (before.scheme, before.netloc, before.path)
    assert after.fragment == before.fragment
    kept = [p for p in before.query.split("&") if p and p.split("=", 1)[0] != "session_id"]
    assert after.query.split("&")[:-1] == kept
    assert parse_qs(after.query, keep_blank_values=True)["session_id"] == [session_id]
    if len(landed) <= URL_MAX:
        assert _checked(landed, "test") == landed


# A next is short: here every character may be the tricky one.
NEXT_PIECES = st.lists(
    st.sampled_from([*TRICKY, "/", "a", "evil.example", ":", "\u2028", "\x0b", "\x1f"]),
    max_size=8,
).map("".join)
NEXTS = st.one_of(
    ANY_TEXT,
    NEXT_PIECES.map(lambda piece: "/" + piece),
    st.builds(
        lambda head, tail: head + tail,
        st.sampled_from(["/", "//", "/\\", "\\", " /", "\t/", "/\t/", "/applications"]),
        NEXT_PIECES,
    ),
    URLS,
)


@fuzz(250)
@given(target=NEXTS)
def test_the_portal_next_is_a_same_site_path_or_the_dashboard(app, target):
    with app.test_request_context("/login"):
        chosen = same_site_next(target)
        response = redirect(chosen)  # a CR/LF here was the 500

    assert chosen in ("/", target)
    location = response.headers["Location"]
    browser_reads = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    assert urlsplit(urljoin("https://kadosei.test/login", browser_reads)).netloc == "kadosei.test"
