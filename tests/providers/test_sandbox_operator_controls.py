"""The operator's knobs: ``flask sandbox status|set|reset`` and the portal's Sandbox page
(login required, CSRF enforced); both store them where every process reads them."""

from __future__ import annotations

import re

import pytest

from kadosei.sandbox.knobs import Knobs, load_knobs, update_knobs
from kadosei.services.accounts import set_operator
from tests.factories import PASSWORD


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["sandbox", *args])


def test_cli_status_lists_every_sandbox_provider_with_its_knobs(app):
    update_knobs("sandbox_orbit", {"down": True})
    result = _cli(app, "status")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == [
        "sandbox_lumen",
        "sandbox_harbor",
        "sandbox_orbit",
    ]
    assert "DOWN" in lines[2] and "up" in lines[0]


def test_cli_set_changes_only_the_given_knobs(app):
    result = _cli(
        app, "set", "sandbox_harbor", "--down", "--slow-ms", "800", "--error-rate", "0.25"
    )
    assert result.exit_code == 0, result.output
    assert load_knobs("sandbox_harbor") == Knobs(down=True, slow_ms=800, error_rate=0.25)
    assert _cli(app, "set", "sandbox_harbor", "--up", "--success-rate", "0.5").exit_code == 0
    assert load_knobs("sandbox_harbor") == Knobs(slow_ms=800, error_rate=0.25, success_rate=0.5)
    assert _cli(app, "set", "sandbox_harbor", "--disable").exit_code == 0
    assert load_knobs("sandbox_harbor").enabled is False
    assert load_knobs("sandbox_lumen") == Knobs()


def test_cli_reset_restores_the_defaults(app):
    update_knobs("sandbox_lumen", {"down": True, "slow_ms": 100})
    update_knobs("sandbox_orbit", {"enabled": False})
    assert _cli(app, "reset", "sandbox_lumen").exit_code == 0
    assert load_knobs("sandbox_lumen") == Knobs() and not load_knobs("sandbox_orbit").enabled
    assert _cli(app, "reset").exit_code == 0
    assert load_knobs("sandbox_orbit") == Knobs()


@pytest.mark.parametrize(
    "args",
    [
        ["set", "stripe", "--down"],
        ["set", "sandbox_lumen"],
        ["set", "sandbox_lumen", "--error-rate", "1.5"],
        ["set", "sandbox_lumen", "--success-rate", "-0.1"],
        ["set", "sandbox_lumen", "--slow-ms", "-5"],
        ["set", "sandbox_lumen", "--error-rate", "nan"],
        ["reset", "stripe"],
    ],
)
def test_cli_refuses_bad_input_and_changes_nothing(app, args):
    result = _cli(app, *args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert load_knobs("sandbox_lumen") == Knobs()


def _login(client, factories, operator=True):
    _, user = factories.make_merchant()
    if operator:
        set_operator(user, True)
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": _token(page)}
    )


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _form(**overrides) -> dict:
    data = {"enabled": "y", "slow_ms": "0", "error_rate": "0", "success_rate": "1"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_portal_page_needs_a_login(client):
    response = client.get("/sandbox-providers")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/sandbox-providers/sandbox_lumen", data=_form()).status_code in (302, 400)
    assert load_knobs("sandbox_lumen") == Knobs()


def test_the_portal_page_shows_each_providers_methods_currencies_fees_and_knobs(client, factories):
    _login(client, factories)
    html = client.get("/sandbox-providers").get_data(as_text=True)
    assert ">Sandbox<" in html  # in the navigation
    for name in ("Lumen", "Harbor", "Orbit"):
        assert name in html
    assert "every ISO 4217 currency" in html
    assert "1.5% + €0.25" in html and "0.95% + €0.20" in html and "2.49% + €0.35" in html
    assert "paypal" in html and "sepa debit" in html
    assert html.count('name="error_rate"') == 3 and html.count('name="slow_ms"') == 3


def test_the_portal_form_changes_the_knobs(client, factories):
    _login(client, factories)
    token = _token(client.get("/sandbox-providers").get_data(as_text=True))
    response = client.post(
        "/sandbox-providers/sandbox_orbit",
        data=_form(csrf_token=token, down="y", slow_ms="1200", error_rate="0.2"),
    )
    assert response.status_code == 302
    assert load_knobs("sandbox_orbit") == Knobs(down=True, slow_ms=1200, error_rate=0.2)
    html = client.get("/sandbox-providers").get_data(as_text=True)
    assert "sandbox_orbit updated" in html
    client.post(
        "/sandbox-providers/sandbox_orbit",
        data=_form(csrf_token=token, enabled=None, success_rate="0.4"),
    )
    assert load_knobs("sandbox_orbit") == Knobs(enabled=False, success_rate=0.4)


def test_the_portal_form_enforces_csrf(client, factories):
    _login(client, factories)
    response = client.post("/sandbox-providers/sandbox_orbit", data=_form(down="y"))
    assert response.status_code == 400
    assert load_knobs("sandbox_orbit") == Knobs()


@pytest.mark.parametrize(
    "bad", [{"error_rate": "2"}, {"success_rate": "abc"}, {"slow_ms": "1.5"}, {"slow_ms": ""}]
)
def test_the_portal_form_refuses_bad_values_and_changes_nothing(client, factories, bad):
    _login(client, factories)
    token = _token(client.get("/sandbox-providers").get_data(as_text=True))
    response = client.post(
        "/sandbox-providers/sandbox_lumen", data=_form(csrf_token=token, down="y", **bad)
    )
    assert response.status_code == 302
    assert load_knobs("sandbox_lumen") == Knobs()
    assert 'class="flash flash-error"' in client.get("/sandbox-providers").get_data(as_text=True)


def test_the_portal_form_for_an_unknown_provider_is_404(client, factories):
    _login(client, factories)
    token = _token(client.get("/sandbox-providers").get_data(as_text=True))
    response = client.post("/sandbox-providers/stripe", data=_form(csrf_token=token))
    assert response.status_code == 404


def test_only_a_platform_operator_may_change_the_knobs(client, factories):
    _login(client, factories, operator=False)
    html = client.get("/sandbox-providers").get_data(as_text=True)
    assert 'name="error_rate"' not in html and "platform operator" in html
    token = _token(html)
    response = client.post(
        "/sandbox-providers/sandbox_orbit", data=_form(csrf_token=token, down="y")
    )
    assert response.status_code == 403
    assert load_knobs("sandbox_orbit") == Knobs()


def test_set_operator_cli_grants_and_revokes(app, factories):
    _, user = factories.make_merchant()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["set-operator", user.email]).exit_code == 0
    assert user.is_operator is True
    assert runner.invoke(args=["set-operator", user.email, "--revoke"]).exit_code == 0
    assert user.is_operator is False
    assert runner.invoke(args=["set-operator", "nobody@example.com"]).exit_code != 0


def test_disabling_a_provider_takes_it_out_of_eligibility_at_once_in_this_process(app):
    from kadosei.providers.registry import eligible_providers

    names = {p.name for p in eligible_providers("test", "card", "EUR")}
    assert "sandbox_orbit" in names
    update_knobs("sandbox_orbit", {"enabled": False})
    assert "sandbox_orbit" not in {p.name for p in eligible_providers("test", "card", "EUR")}
    update_knobs("sandbox_orbit", {"enabled": True})
    assert "sandbox_orbit" in {p.name for p in eligible_providers("test", "card", "EUR")}
