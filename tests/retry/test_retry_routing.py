"""Which provider a retry goes to, and how the portal explains it (docs/api.md §5 step 5,
spec/ROUTING.md): a provider-side decline passes its provider over for the session; an
issuer-side one does not; the router learns from every attempt."""

from __future__ import annotations

import re

import pytest
from retry_support import DECLINED, NAMES, NO_FUNDS, PAYS, attempts_of, path_of, run_jobs

from kadosei.models import PaymentSession
from kadosei.services import routing_rules
from kadosei.services.provider_choice import rank_providers
from kadosei.services.routing_words import retry_sentence
from tests.factories import PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _declined_then_retried(app, merchant, customer, card: str, **create) -> dict:
    session = merchant.create_session(**create)
    customer.pay(customer.go_to_hosted_page(session), card)
    run_jobs(app)
    retry = customer.try_again(session)
    assert retry.status_code == 303
    return session


def _ranked_names(session: dict) -> list[str]:
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    return [provider.name for provider, _ in rank_providers(row)]


def test_a_provider_side_decline_passes_its_provider_over_for_the_session(app, merchant, customer):
    session = _declined_then_retried(app, merchant, customer, DECLINED)

    first, second = attempts_of(session)
    assert first.retry_elsewhere is True
    assert second.provider != first.provider
    assert first.provider not in _ranked_names(session)
    retry = second.explanation["retry"]
    assert retry["attempt"] == 2 and retry["after"] == first.id
    assert retry["passed_over"] == [
        {"provider": first.provider, "attempt": first.id, "code": "card_declined",
         "cause": "declined"}
    ]  # fmt: skip
    assert retry["issuer_declines"] == [] and retry["none_left"] is False
    assert first.provider not in second.explanation["order"]


def test_an_issuer_side_decline_does_not_pass_its_provider_over(app, merchant, customer):
    session = _declined_then_retried(app, merchant, customer, NO_FUNDS)

    first, second = attempts_of(session)
    assert first.retry_elsewhere is False
    retry = second.explanation["retry"]
    assert retry["passed_over"] == []
    assert retry["issuer_declines"][0]["provider"] == first.provider
    assert retry["issuer_declines"][0]["code"] == "insufficient_funds"
    assert first.provider in second.explanation["order"]
    assert sorted(_ranked_names(session)) == sorted(NAMES)


def test_with_one_provider_allowed_a_retry_goes_back_to_it_and_says_so(
    app, merchant, customer, account
):
    routing_rules.add_rule(
        "pin_providers", {"providers": ["sandbox_orbit"]}, merchant_id=account[0].id
    )
    session = _declined_then_retried(app, merchant, customer, DECLINED)

    first, second = attempts_of(session)
    assert first.provider == second.provider == "sandbox_orbit"
    assert second.explanation["retry"]["none_left"] is True


def test_passing_over_lasts_for_the_session(app, merchant, customer):
    session = _declined_then_retried(app, merchant, customer, DECLINED)
    hosted = customer.open_checkout(session).headers["Location"]
    customer.pay(hosted, DECLINED)
    run_jobs(app)

    customer.try_again(session)

    first, second, third = attempts_of(session)
    assert len({first.provider, second.provider, third.provider}) == 3
    passed = {row["provider"] for row in third.explanation["retry"]["passed_over"]}
    assert passed == {first.provider, second.provider}


def test_the_router_learns_from_the_declined_attempt_and_the_retry(app, merchant, customer):
    from kadosei.services.routing import TAUGHT_PREFIX, get_router

    session = _declined_then_retried(app, merchant, customer, DECLINED)
    customer.pay(customer.open_checkout(session).headers["Location"], PAYS)
    run_jobs(app)

    first, second = attempts_of(session)
    client = get_router().store.client
    assert client.get(TAUGHT_PREFIX + first.id) == b"failed"
    assert client.get(TAUGHT_PREFIX + second.id) == b"succeeded"


def test_the_payment_page_explains_the_retry_in_plain_words(app, merchant, customer, account):
    email = account[1].email
    session = _declined_then_retried(app, merchant, customer, DECLINED)
    first = attempts_of(session)[0]
    browser = customer.client
    token = CSRF.search(browser.get("/login").get_data(as_text=True)).group(1)
    login = {"email": email, "password": PASSWORD, "csrf_token": token}
    assert browser.post("/login", data=login).status_code in (302, 303)

    page = browser.get(f"/payments/{session['id']}").get_data(as_text=True)

    assert "Attempt 2, a retry after a declined payment" in page
    assert f"{NAMES[first.provider]} was passed over" in page
    assert "another provider may not share" in page


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        (
            {"attempt": 2, "passed_over": [{"provider": "sandbox_harbor", "code":
             "card_declined", "cause": "declined"}], "issuer_declines": [], "none_left": False},
            "Attempt 2, a retry after a declined payment; Harbor was passed over: its decline"
            " (card declined) is one another provider may not share",
        ),
        (
            {"attempt": 2, "passed_over": [], "issuer_declines": [{"provider": "sandbox_lumen",
             "code": "insufficient_funds"}], "none_left": False},
            "Attempt 2, a retry after a declined payment; Lumen was not passed over: its"
            " decline (insufficient funds) comes from the card's bank and would be the same"
            " anywhere",
        ),
        (
            {"attempt": 3, "passed_over": [{"provider": "sandbox_orbit", "code": "provider_error",
             "cause": "error"}], "issuer_declines": [], "none_left": False},
            "Attempt 3, a retry after a declined payment; Orbit was passed over: it could not"
            " be reached for this payment",
        ),
        (
            {"attempt": 2, "passed_over": [{"provider": "sandbox_orbit", "code":
             "card_declined", "cause": "declined"}], "issuer_declines": [], "none_left": True},
            "Attempt 2, a retry after a declined payment; Orbit declined or failed before, but"
            " no other provider could take the payment, so it was tried again",
        ),
    ],
)  # fmt: skip
def test_retry_words(retry, expected):
    assert retry_sentence({"reason": "exploit", "retry": retry}, NAMES) == expected


def test_a_first_attempt_has_no_retry_words():
    assert retry_sentence({"reason": "exploit"}, NAMES) is None
    assert retry_sentence(None, NAMES) is None


def test_after_try_again_the_checkout_url_leads_to_the_new_attempts_page(app, merchant, customer):
    session = _declined_then_retried(app, merchant, customer, DECLINED)
    second = attempts_of(session)[1]

    again = customer.open_checkout(session)

    assert again.status_code == 303 and path_of(again.headers["Location"]).endswith(
        second.provider_reference
    )
