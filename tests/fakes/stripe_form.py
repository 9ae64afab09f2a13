"""Stripe's request encoding: form fields with nested ``a[b][0][c]`` keys, and its signature.

Kept apart from the fake's server so the decoding rules (which the SDK's encoder must round-trip)
and the ``Stripe-Signature`` scheme can be read and tested on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import parse_qsl

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    return [head, *_KEY_PART.findall("[" + rest)] if rest else [head]


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def decode_form(body: str) -> dict[str, Any]:
    """``line_items[0][price_data][currency]=eur`` -> {"line_items": [{"price_data": {...}}]}.

    ``a[]=x`` appends, as Stripe accepts both; every leaf stays a string, as on the wire.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = _split_key(key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return _listify(root)


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """``t=…,v1=…``: HMAC-SHA256 of ``"{t}.{payload}"`` keyed with the endpoint's whsec secret."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{stamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"
