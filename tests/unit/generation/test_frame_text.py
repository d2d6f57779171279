"""``cap_answer``: an answer over ``max_frame_bytes`` is cut at a line, with a note, within
the cap; anything within the cap is kept as it is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contextree.context.generation.frame_text import cap_answer, cut_note


def test_text_within_the_cap_is_unchanged() -> None:
    text = "é" * 512  # 1,024 bytes
    assert cap_answer(text, 1024).text == text
    assert cap_answer(text, 1024).truncated_bytes == 0


def test_a_long_answer_is_cut_after_its_last_whole_line_that_fits() -> None:
    text = "".join(f"{n:04d} {'x' * 94}\n" for n in range(30))  # 30 lines of 100 bytes
    capped = cap_answer(text, 1024)
    kept = text[:900]  # nine lines; the tenth would leave no room for the note
    assert capped.text == kept + "\n" + cut_note(900, 3000)
    assert capped.truncated_bytes == 2100
    assert len(capped.text.encode()) <= 1024


def test_one_long_line_is_cut_at_a_character() -> None:
    text = "short\n" + "ü" * 2000
    capped = cap_answer(text, 1024)
    body, _, note = capped.text.rpartition("\n\n")
    assert text.startswith(body)
    assert len(body.encode()) > 900
    assert note == cut_note(len(body.encode()), len(text.encode()))


@given(
    text=st.text(
        alphabet=st.characters(exclude_categories=["Cs"]) | st.sampled_from("\n\n\nab"),
        max_size=3000,
    ),
    cap=st.integers(min_value=64, max_value=4096),
)
def test_the_result_is_within_the_cap_and_a_prefix_of_the_answer(text: str, cap: int) -> None:
    capped = cap_answer(text, cap)
    data = text.encode()
    out = capped.text.encode()
    assert len(out) <= cap
    if len(data) <= cap:
        assert capped.text == text and capped.truncated_bytes == 0
        return
    kept = len(data) - capped.truncated_bytes
    assert out.startswith(data[:kept])
    assert out.endswith(cut_note(kept, len(data)).encode())
