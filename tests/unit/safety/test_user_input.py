import pytest

from safety.user_input import (
    MAX_MESSAGE_CHARS,
    clean_sender,
    clean_text,
    is_button_payload,
    neutralise_typed_intent,
)


def test_clean_text_makes_any_string_storable():
    assert clean_text("a\ud800b\x00c\x1bd\u0085e") == "a\ufffdb c d e"
    assert clean_text("tab\tand\nnewline") == "tab\tand\nnewline"
    assert clean_text("😀 שלום") == "😀 שלום"
    assert len(clean_text("x" * 100_000)) == MAX_MESSAGE_CHARS
    "".join(clean_text("\udfff" * 3)).encode("utf-8")  # encodable now


@pytest.mark.parametrize("value", [None, 5, ["a"], {"a": 1}, True])
def test_clean_text_of_a_non_string_is_empty(value):
    assert clean_text(value) == ""


@pytest.mark.parametrize("value,expected", [
    ("conv-1", "conv-1"), ("  spaced ", "spaced"), ("", None), ("   ", None), (None, None),
    (7, None), (["a"], None), ("\ud800", None), ("a\x00b", None), ("x" * 256, None),
])
def test_clean_sender(value, expected):
    assert clean_sender(value) == expected


@pytest.mark.parametrize("text", ["/affirm", "/deny", "/ask_pain", "/request_human", " /greet "])
def test_button_payloads_are_kept(text):
    assert is_button_payload(text)
    assert neutralise_typed_intent(text) == text


@pytest.mark.parametrize("typed,expected", [
    ('/request_human{"parent_name": "x"}', 'request_human{"parent_name": "x"}'),
    ("/greet{\"a\": 1} he is choking", "greet{\"a\": 1} he is choking"),
    ("/greet he can't breathe", "greet he can't breathe"),
    ("/ask_pain@0.1", "ask_pain@0.1"),
    (" / //emergency{}", "emergency{}"),
    ("/", ""),
    ("does it hurt?", "does it hurt?"),
    ("1/2 of the dose", "1/2 of the dose"),
])
def test_typed_shortcuts_become_text(typed, expected):
    assert neutralise_typed_intent(typed) == expected
