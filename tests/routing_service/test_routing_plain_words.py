"""The payment and routing pages explain routing in a merchant's words: one sentence per
attempt, the figures behind a Details disclosure, none of the router's own vocabulary."""

from __future__ import annotations

import html
import re

from routing_service_support import attempts_of, signed_in_browser

from kadosei.sandbox.knobs import update_knobs
from kadosei.services import routing_rules

# The router's vocabulary, which a merchant should never have to read.
JARGON = (
    "drawn ev",
    "sampled",
    "evidence",
    "doubt",
    "choice #",
    "explore",
    "exploit",
    "half_open",
    "half-open",
    "breaker",
    "probe",
    "store_unavailable",
    "router_error",
    "all_breakers_open",
)


def visible_text(page: str) -> str:
    """What a reader sees: the page without tags, attributes, comments and scripts."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def jargon_in(page: str) -> list[str]:
    text = visible_text(page).lower()
    return [word for word in JARGON if word in text]


def test_the_payment_page_says_why_in_one_sentence_with_the_figures_behind_details(
    app, merchant, customer, account
):
    update_knobs("sandbox_harbor", {"down": True})
    session = merchant.create_session()
    customer.go_to_hosted_page(session)
    browser = signed_in_browser(app, account[1])

    page = browser.get(f"/payments/{session['id']}").get_data(as_text=True)

    attempts = attempts_of(session)
    assert len(attempts) >= 1
    for attempt in attempts:
        block = page.split(f'id="why-{attempt.id}"', 1)[1].split('class="routing-decision"')[0]
        sentence = visible_text(block.split('class="routing-sentence">', 1)[1].split("</p>")[0])
        assert sentence.startswith(("Sent to ", "Retried on ", "Kept on "))
        assert "sandbox_" not in sentence  # display names, not ids
        details = block.split("<details", 1)[1].split("</details>", 1)[0]
        assert "<summary>Details</summary>" in details and "routing-candidates" in details
        assert "routing-candidates" not in block.split("<details", 1)[0]  # figures only inside
    assert jargon_in(page) == []


def test_the_routing_page_speaks_plainly_about_paused_providers_and_rules(
    app, merchant, customer, account, clock
):
    update_knobs("sandbox_harbor", {"down": True})
    routing_rules.add_rule("disable_provider", {"provider": "sandbox_orbit"}, note="maintenance")
    for _ in range(10):
        clock.advance(60)
        customer.go_to_hosted_page(merchant.create_session())
    browser = signed_in_browser(app, account[1])

    page = browser.get("/routing").get_data(as_text=True)

    assert "Orbit is switched off for every account — “maintenance”" in html.unescape(page)
    assert jargon_in(page) == []


def test_the_jargon_check_catches_the_old_wording():
    old = '<p><strong>learned</strong>, choice #1 · <span class="badge">explore</span></p>'

    assert jargon_in(old) == ["choice #", "explore"]
