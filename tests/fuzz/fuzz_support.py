"""What the fuzz tests share: one bounded, reproducible hypothesis profile and the
strategies for what an outsider can send (JSON of any shape and depth, raw bytes, headers).

``derandomize`` makes every run try the same examples (CI is reproducible) and no example
database is written; ``max_examples`` keeps the whole folder to seconds. No per-example
deadline: on a loaded CI machine a slow example is not a finding, and it would make the run flaky.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The app fixture is built once per test and shared by its examples on purpose: the
# properties here read, they never write.
SHARED_FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def fuzz(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=SHARED_FIXTURES,
    )


# Text as a sender can write it in JSON: any code point, lone surrogates and NUL included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
PLAIN_TEXT = st.text(max_size=20)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | PLAIN_TEXT
    | ANY_TEXT
)


def json_values(keys=PLAIN_TEXT | ANY_TEXT, max_leaves: int = 12):
    """Any JSON value Python can dump (no NaN or infinity), nested a few levels."""
    return st.recursive(
        SCALARS,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


@st.composite
def deep_json(draw) -> str:
    """Arrays and objects nested from zero to a few thousand deep, around a value."""
    depth = draw(st.integers(min_value=0, max_value=3000) | st.integers(min_value=25, max_value=40))
    kinds = draw(st.sampled_from(["[", "{", "mixed"]))
    opened: list[str] = []
    for level in range(depth):
        kind = kinds if kinds != "mixed" else "[{"[level % 2]
        opened.append(kind)
    text = "".join('{"k":' if kind == "{" else "[" for kind in opened)
    text += draw(st.sampled_from(["1", '"x"', "[]", "{}", "null"]))
    text += "".join("}" if kind == "{" else "]" for kind in reversed(opened))
    return text


@st.composite
def mangled(draw, text: str) -> str:
    """``text`` with a few characters cut, doubled or inserted."""
    chars = list(text)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(chars)))
        action = draw(st.sampled_from(["cut", "insert"]))
        if action == "cut" and at < len(chars):
            del chars[at]
        else:
            chars.insert(at, draw(st.sampled_from([*'[]{}",:\\ 0eE-.tfn\x00', "\ud800"])))
    return "".join(chars)
