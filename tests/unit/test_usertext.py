"""User text in pages: escaped, with bidi controls shown instead of obeyed."""

from __future__ import annotations

from moderator_ui.usertext import BIDI_CONTROLS, has_bidi_controls, usertext


def test_text_is_escaped_and_every_bidi_control_becomes_a_marker() -> None:
    out = str(usertext("<b>fee</b> \u202e0001\u202c \u200f\u061c"))
    assert out.startswith("&lt;b&gt;fee&lt;/b&gt; ")
    assert out.count('class="bidi-control"') == 4
    assert 'title="U+202E RIGHT-TO-LEFT OVERRIDE"' in out and ">RLO</span>0001" in out
    assert not any(c in out for c in BIDI_CONTROLS)


def test_plain_text_is_unchanged() -> None:
    assert str(usertext("Plain text, العربية, עברית")) == "Plain text, العربية, עברית"
    assert str(usertext(None)) == ""
    assert not has_bidi_controls("plain") and has_bidi_controls("a\u2066b")
