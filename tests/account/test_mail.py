"""kadosei's mail: a real SMTP conversation (with a login when the URL names a user), the
settings refused at start-up when malformed, and a server that is away reported plainly."""

from __future__ import annotations

import socket

import pytest

from kadosei.config import ConfigError, load_config
from kadosei.mail import Mail, MailNotSent, send_mail


def test_mail_goes_to_the_configured_server_with_its_login(app, smtp_sink):
    app.config["MAIL_SMTP_URL"] = f"smtp://mailer%40shop@127.0.0.1:{smtp_sink.port}"
    app.config["MAIL_SMTP_PASSWORD"] = "s3cret"
    app.config["MAIL_FROM"] = "Shop <billing@shop.example>"

    send_mail(Mail(to="ada@example.com", subject="Hello", text="Line one\n.\nLine three\n"))

    assert smtp_sink.logins == [("mailer@shop", "s3cret")]
    (message,) = smtp_sink.messages
    assert message["From"] == "Shop <billing@shop.example>"
    assert message["To"] == "ada@example.com"
    assert message.get_content() == "Line one\n.\nLine three\n"


def test_a_server_that_is_away_is_reported(app):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config["MAIL_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    app.config["MAIL_TIMEOUT"] = 2

    with pytest.raises(MailNotSent):
        send_mail(Mail(to="ada@example.com", subject="Hello", text="Hi"))


@pytest.mark.parametrize(
    "url",
    ["http://mail.example", "smtp://", "smtp://user:password@mail.example", "smtp://h:port"],
)
def test_a_malformed_smtp_url_refuses_to_start(monkeypatch, url):
    monkeypatch.setenv("KADOSEI_SMTP_URL", url)

    with pytest.raises(ConfigError):
        load_config({"KADOSEI_ENV": "testing"})


def test_the_from_address_follows_the_public_url(monkeypatch):
    monkeypatch.delenv("KADOSEI_MAIL_FROM", raising=False)

    config = load_config(
        {"KADOSEI_ENV": "testing", "KADOSEI_PUBLIC_URL": "https://pay.shop.example"}
    )

    assert config["MAIL_FROM"] == "kadosei <no-reply@pay.shop.example>"
