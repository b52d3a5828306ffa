"""schemaops._json writes exactly what ``json.dumps(obj, indent=2, default=str)`` does."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemaops._json import dumps_indent2


class Color(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Opaque:
    def __str__(self) -> str:
        return 'opaque \u00e9 "quoted"\n'


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from([Color.RED, Level.HIGH, Path("a/b.py"), Opaque()]),
)
keys = st.one_of(
    st.text(max_size=8),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.just(Color.RED),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(keys, inner, max_size=5),
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_the_same_text_as_json_dumps(document) -> None:
    assert dumps_indent2(document, default=str) == json.dumps(document, indent=2, default=str)


def test_a_string_repeated_is_written_the_same_each_time() -> None:
    recipe = "operations = [\n    migrations.RunSQL(\"SET LOCAL lock_timeout = '5s'\"),\n]"
    document = {"findings": [{"recipe": recipe, recipe: recipe}] * 3, "recipe": [recipe] * 2}
    assert dumps_indent2(document, default=str) == json.dumps(document, indent=2, default=str)


def test_keys_equal_as_numbers_keep_their_own_spelling() -> None:
    document = [{True: 1}, {1: 2}, {1.0: 3}, {"1": 4}]
    assert dumps_indent2(document, default=str) == json.dumps(document, indent=2, default=str)


def test_a_circular_reference_is_refused_as_json_refuses_it() -> None:
    loop: list[object] = []
    loop.append({"again": loop})
    with pytest.raises(ValueError, match="Circular reference detected"):
        dumps_indent2(loop, default=str)


def test_a_key_json_cannot_write_is_refused() -> None:
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        dumps_indent2({(1, 2): "x"}, default=str)
