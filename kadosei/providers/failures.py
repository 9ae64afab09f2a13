"""One way for every adapter to turn a failed SDK or HTTP call into the interface's errors.

An adapter names the call (``doing``: "create the checkout") and says how its SDK's own
exceptions read (``sdk_failure``); the rest is the same for every provider: a timeout is a
``ProviderTimeout``, an unreachable provider a ``ProviderError``, a refusal with a 4xx (but a
429) a ``ProviderBadRequest``, a 429 or a 5xx a ``ProviderError``. Messages carry the status
and the provider's error code, never a credential, and never chain the SDK's exception (whose
text may quote the key).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from kadosei.providers.base import ProviderBadRequest, ProviderError, ProviderTimeout

log = logging.getLogger("kadosei.providers")

# Reads one SDK exception as the interface's error; None: not the SDK's, let it through.
SdkFailure = Callable[[Exception], ProviderError | None]


def refused(display_name: str, doing: str, status: int, detail: str = "") -> ProviderError:
    """The provider answered ``status`` (``detail``: its error code or message, credential
    free): another provider may accept what this one refused."""
    log.warning("%s could not %s: HTTP %s %s", display_name, doing, status, detail)
    message = f"{display_name} could not {doing}: HTTP {status} {detail}".rstrip()
    if 400 <= status < 500 and status != 429:
        return ProviderBadRequest(message)
    return ProviderError(message)


def unreachable(display_name: str, doing: str, cause: BaseException | None) -> ProviderError:
    """No answer: a ``ProviderTimeout`` when ``cause`` is a timeout, else a ``ProviderError``."""
    if isinstance(cause, requests.Timeout):
        return ProviderTimeout(f"{display_name} did not answer in time to {doing}")
    return ProviderError(f"{display_name} could not be reached to {doing}")


def unusable(display_name: str, doing: str, exc: BaseException) -> ProviderError:
    """An answer the adapter cannot read (a missing field, an unexpected shape)."""
    kind = type(exc).__name__
    return ProviderError(f"{display_name} gave an unusable answer to {doing} ({kind})")


@contextmanager
def provider_call(display_name: str, doing: str, sdk_failure: SdkFailure) -> Iterator[None]:
    """Run one call to the provider; every failure leaves as the interface's error."""
    try:
        yield
    except ProviderError:
        raise
    except requests.RequestException as exc:
        raise unreachable(display_name, doing, exc) from None
    except Exception as exc:
        mapped = sdk_failure(exc)
        if mapped is None:
            raise
        raise mapped from None
