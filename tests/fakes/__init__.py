"""Protocol fakes of the outside PSPs: local servers that speak Stripe's, Mollie's and Adyen's
documented APIs, driven in tests through the providers' real SDKs.

Fixtures (``tests.fakes.fixtures``; expose them in a folder's conftest.py with
``stripe_api = fake_psps.stripe_api`` …): ``stripe_api``, ``mollie_api``, ``adyen_checkout``
(each a started fake, stopped after the test), ``start_fake`` (more accounts of one provider,
e.g. ``start_fake(StripeApiFake)`` for failover) and ``notification_sink`` (a bare endpoint).

What an account's ``api_base`` is: ``stripe_api.url`` (the SDK appends ``/v1/…``),
``mollie_api.url`` (the SDK appends ``/v2/…``), ``adyen_checkout.api_base`` (``…/v72``).
Credentials: ``stripe_api.secret_key``/``webhook_secret``, ``mollie_api.api_key``,
``adyen_checkout.api_key``/``merchant_account``/``hmac_key``.

Notifications go to ``fake.notification_url`` (Stripe, Adyen) or the payment's ``webhookUrl``
(Mollie), sent over HTTP, or through a Flask test client with
``fake.sender = flask_client_sender(client)``. ``fake.hold_notifications = True`` keeps them
until ``fake.deliver_pending()``; ``fake.redeliver(n)`` replays one byte for byte.

Every fake has ``pay(id, card)``, ``decline(id, code)``, ``expire(id)``, ``settle(id)``,
``fail_next(status, times=1, **error_fields)``, ``hang_next(seconds)`` and a record of every
request in ``fake.requests`` (``requests_to(method, path_prefix)``). Test cards (the same on
every fake): 4242424242424242 succeeds, 4000000000000002 is declined, 4000000000009995 has
insufficient funds, 4000000000000259 is processing until ``settle``.
"""
