"""Two-factor authentication (TOTP): turning it on and off in the settings, the portal's second
log-in step, the API's ``otp``, single-use recovery codes, replay refused, throttling."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import segno
from account_support import Browser, reset_path_in, run_jobs, totp_code
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from kadosei import encryption
from kadosei.models import AuditEvent, RecoveryCode, User
from tests.conftest import HttpsClient
from tests.factories import PASSWORD


def _new_browser(app, address: str = "127.0.0.1") -> Browser:
    app.test_client_class = HttpsClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def _turn_on(browser: Browser, user) -> tuple[str, list[str]]:
    """Log in and turn two-factor on: (the secret, the recovery codes)."""
    browser.login(user.email)
    started = browser.submit("/settings/two-factor/start", {}, form_on="/settings/two-factor")
    assert started.status_code == 302
    page = browser.client.get("/settings/two-factor").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    confirmed = browser.submit(
        "/settings/two-factor/confirm", {"code": totp_code(secret)}, form_on="/settings/two-factor"
    )
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)[:500]
    codes = re.findall(
        r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", confirmed.get_data(as_text=True)
    )
    return secret, codes


def _api_login(client, email: str, **extra):
    return client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD, **extra})


def test_setting_up_shows_the_secret_and_its_uri_and_needs_a_code(browser, owner, db):
    _, user = owner
    browser.login(user.email)
    browser.submit("/settings/two-factor/start", {}, form_on="/settings/two-factor")
    page = browser.client.get("/settings/two-factor").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    uri = re.search(r'<code id="totp-uri">([^<]+)</code>', page).group(1).replace("&amp;", "&")

    wrong = browser.submit(
        "/settings/two-factor/confirm", {"code": "000000"}, form_on="/settings/two-factor"
    )

    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parse_qs(parts.query)["secret"] == [secret]
    assert parse_qs(parts.query)["issuer"] == ["kadosei"]
    assert 'autocomplete="one-time-code"' in page
    assert wrong.status_code == 401
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert not db.session.scalar(select(User).where(User.id == user.id)).two_factor_enabled


def _qr_modules(data_uri: str) -> set[tuple[int, int]]:
    """The dark modules an SVG QR image draws: its path is runs of ``h`` after moves."""
    svg = unquote(data_uri.removeprefix("data:image/svg+xml;charset=utf-8,"))
    assert "<script" not in svg and "style=" not in svg
    path = re.search(r"stroke=.#000.\s+d=.([^'\"]+)", svg)
    dark, x, y = set(), 0.0, 0.0
    for op, args in re.findall(r"([Mmh])([-\d. ]+)", path.group(1)):
        numbers = [float(n) for n in args.split()]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            dark |= {(int(x) + i, int(y)) for i in range(int(numbers[0]))}
            x += numbers[0]
    return dark


def test_setting_up_shows_a_qr_code_of_the_setup_link_and_the_secret_as_text(browser, owner):
    _, user = owner
    browser.login(user.email)
    browser.submit("/settings/two-factor/start", {}, form_on="/settings/two-factor")
    response = browser.client.get("/settings/two-factor")
    page = response.get_data(as_text=True)
    uri = unescape(re.search(r'<code id="totp-uri">([^<]+)</code>', page).group(1))
    image = re.search(r'<img id="totp-qr" src="([^"]+)"[^>]* alt="([^"]+)"', page)

    assert image.group(1).startswith("data:image/svg+xml")
    assert "scan it" in image.group(2)
    border = 4
    expected = segno.make(uri, error="m", micro=False).matrix
    expected_dark = {
        (col + border, row + border)
        for row, line in enumerate(expected)
        for col, module in enumerate(line)
        if module
    }
    assert _qr_modules(unescape(image.group(1))) == expected_dark
    assert re.search(r'<code id="totp-secret">[A-Z2-7]{32}</code>', page)
    assert "img-src 'self' data:" in response.headers["Content-Security-Policy"]


def test_turning_it_on_gives_ten_recovery_codes_kept_as_digests(browser, owner, db):
    _, user = owner

    _, codes = _turn_on(browser, user)

    assert len(codes) == len(set(codes)) == 10
    digests = list(db.session.scalars(select(RecoveryCode.digest)))
    assert len(digests) == 10
    assert not {c.replace("-", "") for c in codes} & set(digests)
    assert db.session.scalar(select(User).where(User.id == user.id)).two_factor_enabled
    assert "two_factor.enabled" in set(db.session.scalars(select(AuditEvent.action)))


def _stored_secret(db, user) -> str:
    """The column as the database holds it, past the model's decryption."""
    query = text("SELECT totp_secret FROM users WHERE id = :id")
    return db.session.execute(query, {"id": user.id}).scalar_one()


def test_the_secret_is_kept_encrypted_and_its_codes_still_log_in(app, browser, owner, db):
    _, user = owner
    secret, _ = _turn_on(browser, user)
    other = _new_browser(app)

    stored = _stored_secret(db, user)
    other.login(user.email)

    assert secret not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token (version byte 0x80)
    assert other.second_factor(totp_code(secret, 1)).status_code == 302
    assert other.logged_in()


def test_a_new_key_put_first_reads_old_secrets_and_rotation_moves_them_to_it(
    app, browser, owner, db
):
    _, user = owner
    secret, _ = _turn_on(browser, user)
    old = app.config["KADOSEI_ENCRYPTION_KEYS"]
    new = Fernet.generate_key().decode()
    app.config["KADOSEI_ENCRYPTION_KEYS"] = (new, *old)
    first = _new_browser(app)
    first.login(user.email)

    assert first.second_factor(totp_code(secret, 1)).status_code == 302
    rotated = app.test_cli_runner().invoke(args=["rotate-encryption"])
    assert rotated.exit_code == 0, rotated.output
    assert "Re-encrypted 1 two-factor secret" in rotated.output
    app.config["KADOSEI_ENCRYPTION_KEYS"] = (new,)  # the old key is dropped
    db.session.expire_all()
    assert encryption.decrypt(_stored_secret(db, user), (new,)) == secret
    assert db.session.scalar(select(User).where(User.id == user.id)).two_factor_enabled


def test_the_portal_asks_for_a_code_after_the_password(app, browser, owner):
    _, user = owner
    secret, _ = _turn_on(browser, user)
    other = _new_browser(app)

    first = other.login(user.email)

    assert first.status_code == 302
    assert first.headers["Location"].startswith("/login/two-factor")
    assert not other.logged_in()
    wrong = other.second_factor("123456")
    assert wrong.status_code == 401
    assert not other.logged_in()
    right = other.second_factor(totp_code(secret, 1))
    assert right.status_code == 302
    assert other.logged_in()


def test_the_second_step_without_a_password_first_goes_back_to_login(client):
    response = client.get("/login/two-factor")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_a_code_is_accepted_once(app, browser, owner, client):
    _, user = owner
    secret, _ = _turn_on(browser, user)
    code = totp_code(secret, 1)
    first = _new_browser(app)
    first.login(user.email)

    assert first.second_factor(code).status_code == 302
    replayed = _api_login(client, user.email, otp=code)
    assert replayed.status_code == 401
    assert replayed.get_json()["error"]["code"] == "otp_invalid"
    second = _new_browser(app)
    second.login(user.email)
    assert second.second_factor(code).status_code == 401


def test_the_api_needs_the_code_with_the_password(browser, owner, client):
    _, user = owner
    secret, _ = _turn_on(browser, user)

    missing = _api_login(client, user.email)
    wrong = _api_login(client, user.email, otp="000000")
    bad_password = client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": "wrong password", "otp": totp_code(secret, 1)},
    )
    right = _api_login(client, user.email, otp=totp_code(secret, 1))

    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "otp_required"
    assert missing.get_json()["error"]["param"] == "otp"
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "otp_invalid"
    assert bad_password.status_code == 401
    assert bad_password.get_json()["error"]["code"] == "invalid_credentials"
    assert right.status_code == 200
    assert right.get_json()["token_type"] == "Bearer"


def test_without_two_factor_an_otp_is_not_needed(owner, client):
    assert _api_login(client, owner[1].email).status_code == 200


def test_a_recovery_code_works_once_in_the_portal_and_the_api(app, browser, owner, client, db):
    _, user = owner
    _, codes = _turn_on(browser, user)
    portal = _new_browser(app)
    portal.login(user.email)

    assert portal.second_factor(codes[0].upper().replace("-", " ")).status_code == 302
    assert _api_login(client, user.email, otp=codes[0]).status_code == 401
    assert _api_login(client, user.email, otp=codes[1]).status_code == 200
    assert _api_login(client, user.email, otp=codes[1]).status_code == 401
    used = db.session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
    assert len(list(used)) == 2
    assert "recovery codes left" in browser.client.get("/settings").get_data(as_text=True)


def test_another_users_recovery_code_does_not_work(app, browser, owner, factories, client):
    _, user = owner
    _, codes = _turn_on(browser, user)
    _, someone = factories.make_merchant()
    _turn_on(_new_browser(app, "10.0.0.9"), someone)

    assert _api_login(client, someone.email, otp=codes[0]).status_code == 401


def test_turning_it_off_needs_the_password_and_a_code(app, browser, owner, client, db):
    _, user = owner
    secret, codes = _turn_on(browser, user)

    no_password = browser.submit(
        "/settings/two-factor/disable",
        {"password": "wrong password", "code": totp_code(secret, 1)},
        form_on="/settings/two-factor",
    )
    no_code = browser.submit(
        "/settings/two-factor/disable",
        {"password": PASSWORD, "code": "000000"},
        form_on="/settings/two-factor",
    )
    off = browser.submit(
        "/settings/two-factor/disable",
        {"password": PASSWORD, "code": codes[3]},
        form_on="/settings/two-factor",
    )

    assert no_password.status_code == 401
    assert no_code.status_code == 401
    assert off.status_code == 302
    stored = db.session.scalar(select(User).where(User.id == user.id))
    assert not stored.two_factor_enabled
    assert stored.totp_secret is None
    assert db.session.scalar(select(RecoveryCode)) is None
    assert _api_login(client, user.email).status_code == 200
    actions = list(db.session.scalars(select(AuditEvent.action)))
    assert "two_factor.disabled" in actions
    assert actions.count("two_factor.disable_failed") == 2


def test_wrong_codes_are_throttled_like_wrong_passwords(app, browser, owner):
    _, user = owner
    _turn_on(browser, user)
    answers = []
    for n in range(12):
        attempt = _new_browser(app, f"10.0.3.{n}")  # another address each time
        first = attempt.login(user.email)
        if first.status_code == 429:
            answers.append(429)
            continue
        answers.append(attempt.second_factor("000000").status_code)

    assert answers[:10] == [401] * 10
    assert answers[10:] == [429, 429]


def test_wrong_codes_over_the_api_are_throttled(browser, owner, client):
    _, user = owner
    _turn_on(browser, user)

    answers = [_api_login(client, user.email, otp="000000").status_code for _ in range(11)]

    assert answers[:10] == [401] * 10
    assert answers[10] == 429


@pytest.mark.parametrize("otp", ["", "1" * 65, "12345 6789"])
def test_odd_codes_are_refused_plainly(browser, owner, client, otp):
    _, user = owner
    _turn_on(browser, user)

    response = _api_login(client, user.email, otp=otp)

    assert response.status_code in (400, 401)
    assert "error" in response.get_json()


def test_a_password_reset_keeps_two_factor_on(app, browser, owner, client, smtp_sink):
    _, user = owner
    _turn_on(browser, user)
    stranger = _new_browser(app, "10.0.4.1")
    stranger.submit("/password/forgot", {"email": user.email})
    run_jobs(app)
    path = reset_path_in(smtp_sink.messages[0].get_content())
    new = "a brand new passphrase"
    assert stranger.submit(path, {"password": new, "confirm": new}).status_code == 302

    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": new})

    assert response.get_json()["error"]["code"] == "otp_required"


@pytest.mark.parametrize("otp", ["١٢٣٤٥٦", "12345\u00e9", "ａｂｃ"])
def test_codes_in_other_scripts_are_refused_not_a_500(browser, owner, client, otp):
    _, user = owner
    _turn_on(browser, user)

    response = _api_login(client, user.email, otp=otp)

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "otp_invalid"


def test_new_recovery_codes_replace_the_old_ones(browser, owner, client, db):
    _, user = owner
    secret, old = _turn_on(browser, user)

    wrong = browser.submit(
        "/settings/two-factor/recovery-codes", {"otp": "000000"}, form_on="/settings/two-factor"
    )
    renewed = browser.submit(
        "/settings/two-factor/recovery-codes",
        {"otp": totp_code(secret, 1)},
        form_on="/settings/two-factor",
    )

    assert wrong.status_code == 401
    assert renewed.status_code == 200
    new = re.findall(
        r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", renewed.get_data(as_text=True)
    )
    assert len(new) == 10 and not set(new) & set(old)
    assert _api_login(client, user.email, otp=old[0]).status_code == 401
    assert _api_login(client, user.email, otp=new[0]).status_code == 200
    assert "two_factor.recovery_codes_replaced" in set(
        db.session.scalars(select(AuditEvent.action))
    )
