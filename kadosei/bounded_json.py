"""JSON from outside (API request bodies, provider notifications), read within declared limits.

Nothing here recurses: the nesting depth is measured on the text before it is parsed, so the
parser never meets a document deep enough to reach Python's recursion limit, and the walk
over a parsed document keeps its own stack. Whatever arrives, the only exception is
``RefusedJson`` (a ``ValueError``) with a message fit to show the sender.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

# The limits every JSON document from outside is held to. No body the API takes nests more
# than a few levels (a session's metadata is two), and no PSP notification more than six;
# 1 MiB is the HTTP body limit's default (MAX_CONTENT_LENGTH), kept here for documents that
# arrive in-process, as the sandbox providers' notifications do.
MAX_DEPTH = 32
MAX_BYTES = 1024 * 1024

# A JSON string token (its escapes included): what lies inside a string is never structure.
# Possessive, and an unterminated string runs to the end, so the scan stays linear.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class RefusedJson(ValueError):
    """The document is not JSON, or breaks one of the limits above. The message is a
    predicate (``"is not valid JSON"``) for the caller to put after its own noun."""


def load(raw: bytes) -> object:
    """The parsed document: ``RefusedJson`` when it is not JSON (``NaN``, ``Infinity`` and
    numbers too large for a float included) or is larger or deeper than the limits."""
    if len(raw) > MAX_BYTES:
        raise RefusedJson(f"is larger than {MAX_BYTES} bytes")
    text = _text(raw)
    if not _nesting_within(text, MAX_DEPTH):
        raise RefusedJson(f"is not valid JSON or nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise RefusedJson("is not valid JSON") from None


def strings_in(value: object) -> Iterator[str]:
    """Every string in a parsed document, object keys included, without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def is_storable(text: str) -> bool:
    """No NUL characters and no lone surrogates (``"\\ud800"`` is valid JSON but not text): no
    database can store them, UTF-8 cannot encode them, and nobody means them."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def holds_unstorable(value: object) -> bool:
    """Whether any string anywhere in ``value`` (keys included) fails ``is_storable``."""
    return not all(is_storable(text) for text in strings_in(value))


def _text(raw: bytes) -> str:
    """Decoded as ``json.loads`` decodes bytes (encoded surrogates pass, for
    ``is_storable`` to refuse by name)."""
    try:
        return raw.decode(json.detect_encoding(raw), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        raise RefusedJson("is not valid JSON") from None


def _nesting_within(text: str, limit: int) -> bool:
    """Whether the arrays and objects of ``text`` nest at most ``limit`` deep and balance.

    With braces written as brackets (a mismatched pair is the parser's to refuse), each pass
    removes the innermost pairs, so a document of depth d is empty after d passes; what is
    left after ``limit`` passes is too deep or unbalanced (not JSON anyway).
    """
    structure = _NOT_BRACKET.sub("", _STRING.sub("", text))
    brackets = structure.replace("{", "[").replace("}", "]")
    for _ in range(limit):
        if not brackets:
            return True
        reduced = brackets.replace("[]", "")
        if reduced == brackets:
            return False
        brackets = reduced
    return not brackets


def _reject_constant(name: str):
    """``NaN`` and ``Infinity`` are not JSON (RFC 8259), whatever Python's parser allows."""
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    """``1e999`` would be parsed as infinity, which is not a number JSON can carry back."""
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"{literal} is out of range")
    return number
