"""The audit log in plain words (the portal's Audit page): who did it, and what, in a sentence.
The API gives the same events as data (``action``, ``details``); these words are the page's."""

from __future__ import annotations

from kadosei.currencies import format_amount, is_currency
from kadosei.models import AuditEvent

_PLAIN = {
    "merchant.signup": "Signed the shop up",
    "signup.address_taken": "Someone tried to sign up again with this address",
    "merchant.updated": "Changed the shop's settings",
    "login.succeeded": "Logged in",
    "login.failed": "Failed to log in",
    "logout": "Logged out",
    "logout.everywhere": "Logged out everywhere",
    "refresh_token.reused": "A used refresh token was presented again (its sessions ended)",
    "password.changed": "Changed the password",
    "password.change_failed": "Failed to change the password (wrong current password)",
    "password_reset.requested": "Asked for a password-reset link",
    "password.reset": "Reset the password from a link",
    "two_factor.enabled": "Turned two-factor authentication on",
    "two_factor.disabled": "Turned two-factor authentication off",
    "two_factor.disable_failed": "Failed to turn two-factor authentication off",
    "two_factor.recovery_codes_replaced": "Replaced the two-factor recovery codes",
    "two_factor.recovery_code_used": "Used a two-factor recovery code",
    "operator.granted": "Was made a platform operator",
    "operator.revoked": "Is no longer a platform operator",
    "application.created": "Created an application",
    "application.archived": "Archived an application",
    "api_key.created": "Created an API key",
    "api_key.revoked": "Revoked an API key",
    "webhook_endpoint.created": "Added a webhook endpoint",
    "webhook_endpoint.updated": "Changed a webhook endpoint",
    "webhook_endpoint.deleted": "Deleted a webhook endpoint",
    "webhook_endpoint.secret_rotated": "Rotated a webhook endpoint's signing secret",
    "team.invitation_created": "Invited someone to the team",
    "team.invitation_withdrawn": "Withdrew an invitation",
    "team.invitation_accepted": "Accepted an invitation and joined the team",
    "team.role_changed": "Changed a team member's role",
    "team.user_removed": "Removed a team member",
}
# Details the sentence already says, not listed again beside it.
_SAID = {
    "refund.created": {"amount", "currency", "payment_session", "reason"},
    "payment_session.captured": {"amount", "currency", "authorized"},
    "payment_session.voided": {"amount", "currency"},
}


def audit_sentence(event: AuditEvent) -> str:
    """What happened, as a sentence (the action's code when it has no words yet)."""
    details = event.details or {}
    if event.action == "refund.created":
        sentence = f"Refunded {_money(details)} of payment {details.get('payment_session')}"
        reason = details.get("reason")
        return f"{sentence} (reason: {reason})" if reason else sentence
    if event.action == "payment_session.captured":
        authorised = _money(details, "authorized")
        return f"Captured {_money(details)} of the {authorised} authorised"
    if event.action == "payment_session.voided":
        return f"Voided an authorisation of {_money(details)} (the customer's hold is released)"
    return _PLAIN.get(event.action, event.action)


def audit_actor(event: AuditEvent, emails: dict[str, str]) -> str | None:
    """Who did it: the person's e-mail (their id once they left the team), or the API key and
    its application; ``None`` when neither is known."""
    if event.user_id:
        return emails.get(event.user_id) or event.user_id
    details = event.details or {}
    if details.get("api_key"):
        return f"API key {details['api_key']} of application {details.get('application')}"
    return None


def audit_details(event: AuditEvent) -> dict:
    """The details the sentence and the Who column do not already say."""
    said = _SAID.get(event.action, set()) | {"api_key", "application"}
    return {key: value for key, value in (event.details or {}).items() if key not in said}


def _money(details: dict, field: str = "amount") -> str:
    amount, currency = details.get(field), details.get("currency")
    if isinstance(amount, int) and isinstance(currency, str) and is_currency(currency):
        return format_amount(amount, currency)
    return f"{amount} {currency}"
