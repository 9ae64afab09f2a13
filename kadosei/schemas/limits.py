"""Every limit of the contract, declared once. The request models, the SQLAlchemy columns
where they meet, the portal's forms and flash messages, and so the OpenAPI document, all read
these: change one here and all of them follow. Plain integers, no imports, so that
``kadosei.models`` can use them without pulling in pydantic."""

AMOUNT_MIN = 1
AMOUNT_MAX = 99_999_999

MERCHANT_NAME_MAX = 200
PERSON_NAME_MAX = 200
EMAIL_MAX = 320
PASSWORD_MIN = 10
PASSWORD_MAX = 128
LOGIN_PASSWORD_MAX = 1024
REFRESH_TOKEN_MAX = 200
OTP_MAX = 64

APPLICATION_NAME_MAX = 100
APPLICATION_DESCRIPTION_MAX = 500
API_KEY_NAME_MAX = 100

URL_MAX = 2048
REFERENCE_MAX = 255
SESSION_DESCRIPTION_MAX = 1000
METADATA_KEYS_MAX = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
EXPIRES_IN_MIN = 300
EXPIRES_IN_MAX = 86_400
EXPIRES_IN_DEFAULT = 3600
IDEMPOTENCY_KEY_MAX = 255
# Declined attempts a customer may make before the session is failed (docs/api.md §5).
MAX_ATTEMPTS_MIN = 1
MAX_ATTEMPTS_MAX = 10
MAX_ATTEMPTS_DEFAULT = 3

WEBHOOK_DESCRIPTION_MAX = 500

PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100
