"""Profile fields ``context_window`` and ``reply_reserve``: validated, and the ``Window`` they
make (reserve defaults, prompt budget, the capped ``max_tokens``)."""

from __future__ import annotations

import pytest

from contextree.context.generation.window_fit import Window, line_cut, window_for
from contextree.errors import ProviderConfigError
from contextree.providers.profiles import ProviderProfile, parse_profile


def profile(**fields: object) -> ProviderProfile:
    data = {"type": "openai", "model": "m", **fields}
    return parse_profile(data, name="local", source="local.toml")


def test_a_reserve_not_below_the_window_is_refused_naming_both() -> None:
    with pytest.raises(ProviderConfigError) as caught:
        profile(context_window=4096, reply_reserve=4096)
    assert "reply_reserve (4096) must be smaller than context_window (4096)" in str(caught.value)


@pytest.mark.parametrize("field", ["context_window", "reply_reserve"])
def test_the_window_fields_must_be_positive(field: str) -> None:
    with pytest.raises(ProviderConfigError) as caught:
        profile(**{field: 0})
    assert field in str(caught.value)


def test_the_reserve_defaults_to_max_tokens_else_a_quarter_at_most_1024() -> None:
    plain = window_for(profile(context_window=4096), None)
    assert plain is not None and (plain.reserve, plain.prompt_budget) == (1024, 3072)
    small = window_for(profile(context_window=2000), None)
    assert small is not None and small.reserve == 500
    capped = window_for(profile(context_window=4096, options={"max_tokens": 300}), None)
    assert capped is not None and capped.reserve == 300
    given = window_for(profile(context_window=4096, reply_reserve=700), None)
    assert given is not None and given.reserve == 700 and given.configured


def test_a_configured_window_wins_over_a_reported_one() -> None:
    window = window_for(profile(context_window=4096), 131072)
    assert window is not None and window.size == 4096
    reported = window_for(profile(), 8192)
    assert reported is not None and reported.size == 8192 and not reported.configured
    assert window_for(profile(), None) is None


def test_max_tokens_never_exceeds_what_the_window_leaves() -> None:
    window = Window(provider="p", size=4096, reserve=512, max_tokens=8000, configured=True)
    assert window.max_tokens_for(3000) == 1096
    unset = Window(provider="p", size=4096, reserve=512, max_tokens=None, configured=True)
    assert unset.max_tokens_for(3000) == 512


def test_a_line_cut_keeps_whole_lines_or_whole_characters() -> None:
    assert line_cut(b"one\ntwo\nthree\n", 10) == b"one\ntwo\n"
    assert line_cut("ééé".encode(), 3) == "é".encode()
    assert line_cut(b"abc", 10) == b"abc"
