"""Outgoing mail, one message at a time: over SMTP when ``KADOSEI_SMTP_URL`` is set, else to
the log (outside production with its text, links included, so a developer can follow them)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app

log = logging.getLogger("kadosei.mail")


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


def send_mail(mail: Mail) -> None:
    """Send ``mail``, or write it to the log when no SMTP server is configured."""
    config = current_app.config
    url = config["MAIL_SMTP_URL"]
    if not url:
        if config["KADOSEI_ENV"] == "production":
            log.warning("mail to %s not sent: KADOSEI_SMTP_URL is unset", mail.to)
        else:
            log.warning(
                "mail not sent (KADOSEI_SMTP_URL is unset), to %s, subject %r:\n%s",
                mail.to,
                mail.subject,
                mail.text,
            )
        return
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="kadosei")
    message.set_content(mail.text)
    try:
        _deliver(url, message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"could not send mail to {mail.to}: {exc}") from exc
    log.info("mail sent to %s (%s)", mail.to, mail.subject)


def _deliver(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    config = current_app.config
    timeout = config["MAIL_TIMEOUT"]
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if parts.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), config["MAIL_SMTP_PASSWORD"] or "")
        smtp.send_message(message)
