"""Remove e-mail addresses and phone numbers from free text bound for the DSA database.

Statements are public once submitted; a moderator's note or a quoted contribution may hold a
person's contact. E-mail addresses are recognised also when obfuscated (``name [at] host
[dot] org``). A phone number is a run of 8 to 15 digits (7 with a ``+`` prefix) joined by
spaces, dots, dashes, slashes or parentheses; dates, year ranges and thousands-grouped
amounts are the same shape and are kept. The people a statement concerns (author, reporters,
notifiers, moderators: ids and names the caller passes as ``private``) are removed too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL_MARK = "[e-mail removed]"
PHONE_MARK = "[phone removed]"
NAME_MARK = "[name removed]"
MIN_PRIVATE_CHARS = 3  # shorter ids would match inside ordinary words

_AT = r"(?:\s*[@\uff20]\s*|\s*[\[({]\s*at\s*[\])}]\s*)"
_DOT = r"(?:\.|\s*[\[({]\s*(?:dot|punkt|point)\s*[\])}]\s*)"
_EMAIL = re.compile(
    r"(?:mailto:)?[\w.+%'-]*\w"
    + _AT
    + r"\w[\w-]*(?:"
    + _DOT
    + r"[\w-]+)*"
    + _DOT
    + r"[^\W\d_]{2,}",
    re.IGNORECASE,
)
_PHONE_CANDIDATE = re.compile(r"(?<![\w@+.,/#-])(?:\+|\(\+?)?\d[\d \t().\-/]{4,}\d(?![\w@])")
_DATE = re.compile(
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}"
    r"|(?:19|20)\d\d\s*[-/]\s*(?:19|20)\d\d"
)
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:([ .])\d{3})(?:\1\d{3})*")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(char.isdigit() for char in text)
    international = text.startswith(("+", "(+"))
    if not (7 if international else 8) <= digits <= 15:
        return text
    if not international and (_DATE.fullmatch(text) or _THOUSANDS.fullmatch(text)):
        return text
    return PHONE_MARK


def scrub(text: str, private: Iterable[str] = ()) -> str:
    """``text`` with every e-mail address, phone number and ``private`` value replaced."""
    names = {value.strip() for value in private if len(value.strip()) >= MIN_PRIVATE_CHARS}
    for name in sorted(names, key=len, reverse=True):
        pattern = r"(?<!\w)" + re.escape(name) + r"(?!\w)"
        text = re.sub(pattern, NAME_MARK, text, flags=re.IGNORECASE)
    return _PHONE_CANDIDATE.sub(_phone, _EMAIL.sub(EMAIL_MARK, text))


def scrub_optional(text: str | None, private: Iterable[str] = ()) -> str | None:
    return None if text is None else scrub(text, private)
