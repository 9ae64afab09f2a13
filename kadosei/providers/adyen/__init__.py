"""Adyen through its official SDK (``Adyen`` 16.0.0, Checkout API v72): hosted Checkout
sessions, payment modifications and HMAC-signed standard notifications.

References. ``create_checkout`` returns Adyen's checkout session id (``CS…``) as the
``provider_reference``; the payment made in that session gets its own ``pspReference`` later.
Adyen has no "get payment" call: ``GET /sessions/{id}`` needs the ``sessionResult`` the
shopper's return URL carries, which a stateless adapter does not have. So the status comes
from notifications: ``get_status(session_id)`` answers ``pending`` without a call, and
``session_status(session_id, session_result)`` asks Adyen when kadosei holds a sessionResult.
AUTHORISATION and OFFER_CLOSED items are matched to the session by
``additionalData.checkoutSessionId`` (Adyen adds it for sessions-flow payments; manual
capture is read from the session metadata Adyen echoes as ``metadata.capture_method``) and carry
the payment's ``pspReference`` in ``PaymentStatus.payment_reference``: ``capture``, ``void``
and ``refund`` take that pspReference, and the facts of CAPTURE, CANCELLATION and REFUND
items are reported under it (``originalReference``).

Cancel and expiry. Adyen cannot end a session early. ``expire_checkout`` therefore calls
nothing and reports the checkout ``expired`` locally; the session also ends at Adyen at the
``expiresAt`` we send. A payment made after that is reported by its AUTHORISATION
notification, which kadosei's state machine records as a conflict to refund.

Amounts. Adyen takes minor units with its own exponents, which differ from ISO 4217 for
four currencies (docs.adyen.com/development-resources/currency-codes): CLP and ISK take two
decimals (ISO: 0), converted exactly (×100); CVE and IDR take none (ISO: 2), and are not
offered because not every ISO amount converts exactly.

Errors: timeouts → ProviderTimeout, connection failures and 5xx → ProviderError, 4xx →
ProviderBadRequest; no SDK retries (the SDK has none) and never a credential in a message.
``display_name`` is "Adyen (<account name>)".
"""

from kadosei.providers.adyen.notifications import fact_of
from kadosei.providers.adyen.provider import AdyenProvider
from kadosei.providers.adyen.tables import DECLINES, SESSION_STATUSES

__all__ = ["DECLINES", "SESSION_STATUSES", "AdyenProvider", "fact_of"]
