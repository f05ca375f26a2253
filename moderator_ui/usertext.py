"""User text in pages: bidi controls shown as visible markers instead of being obeyed.

A contribution may carry Unicode bidi controls (embeddings, overrides, isolates, marks) that
silently reorder what a moderator reads: ``\u202e0001`` displays as ``1000``. The filter
``usertext`` escapes the text and replaces every such control by a small visible marker
(``<span class="bidi-control">``) naming it, so the text reads in its stored order and the
moderator sees that someone tried. Each text element also carries ``dir="auto"`` in the
templates, so Arabic and Hebrew take their own direction without any control character.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

BIDI_CONTROLS = {
    "\u061c": ("ALM", "ARABIC LETTER MARK"),
    "\u200e": ("LRM", "LEFT-TO-RIGHT MARK"),
    "\u200f": ("RLM", "RIGHT-TO-LEFT MARK"),
    "\u202a": ("LRE", "LEFT-TO-RIGHT EMBEDDING"),
    "\u202b": ("RLE", "RIGHT-TO-LEFT EMBEDDING"),
    "\u202c": ("PDF", "POP DIRECTIONAL FORMATTING"),
    "\u202d": ("LRO", "LEFT-TO-RIGHT OVERRIDE"),
    "\u202e": ("RLO", "RIGHT-TO-LEFT OVERRIDE"),
    "\u2066": ("LRI", "LEFT-TO-RIGHT ISOLATE"),
    "\u2067": ("RLI", "RIGHT-TO-LEFT ISOLATE"),
    "\u2068": ("FSI", "FIRST STRONG ISOLATE"),
    "\u2069": ("PDI", "POP DIRECTIONAL ISOLATE"),
}
_CONTROL = re.compile("[" + "".join(BIDI_CONTROLS) + "]")


def _marker(char: str) -> str:
    short, name = BIDI_CONTROLS[char]
    return (
        f'<span class="bidi-control" title="U+{ord(char):04X} {name}" '
        f'aria-label="bidi control {name.lower()}">{short}</span>'
    )


def usertext(value: object) -> Markup:
    """``value`` escaped for HTML, with each bidi control replaced by a visible marker."""
    escaped = str(escape("" if value is None else value))
    return Markup(_CONTROL.sub(lambda m: _marker(m.group(0)), escaped))


def has_bidi_controls(value: str | None) -> bool:
    return bool(value and _CONTROL.search(value))
