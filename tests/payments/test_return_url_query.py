"""docs/api.md §5 step 5: ``session_id=ps_…`` is *appended* to the merchant's URL; the
merchant's own query stays exactly as written (percent-encodings, bare flags, order), so a
return URL the merchant signed still verifies."""

from __future__ import annotations

from payments_support import path_of

SUCCESS = "https://shop.example/thanks?order=42&note=a%20b&flag&sig=x%2Fy%7E"
CANCEL = "https://shop.example/cart?back=%2Fbasket&session_id=stale#top"


def test_success_url_keeps_the_merchants_query_byte_for_byte(app, merchant, customer):
    session = merchant.create_session(success_url=SUCCESS, cancel_url=CANCEL)
    hosted = customer.go_to_hosted_page(session)

    landed = customer.follow(customer.pay_by_card(hosted, "4242424242424242"))

    assert landed == f"{SUCCESS}&session_id={session['id']}"


def test_cancel_url_keeps_its_query_and_fragment_and_replaces_a_stale_session_id(
    app, merchant, customer
):
    session = merchant.create_session(success_url=SUCCESS, cancel_url=CANCEL)
    merchant.post(f"/payment_sessions/{session['id']}/cancel")

    ended = customer.client.get(path_of(session["checkout_url"]))
    landed = customer.client.get(path_of(session["checkout_url"]) + "/return")

    assert ended.status_code == 200
    assert landed.status_code == 303
    assert landed.headers["Location"] == (
        f"https://shop.example/cart?back=%2Fbasket&session_id={session['id']}#top"
    )
