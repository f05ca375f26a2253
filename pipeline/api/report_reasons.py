"""One table: the report reasons platforms send, mapped onto Hemicycle's four.

Hemicycle's reasons are ``spam``, ``offensive``, ``does_not_belong`` and ``illegal``. A report
may carry Hemicycle's code or a platform's own; the original is kept as ``reason_source``.

* **Decidim** (``Decidim::Report::REASONS``, 0.27 to 0.30): ``spam``, ``offensive``,
  ``does_not_belong``; newer versions also record ``hidden_during_block`` (hidden because the
  author was blocked) and ``parent_hidden`` (a reply under hidden content): both read as
  ``does_not_belong``.
* **Coral** (``GQLCOMMENT_FLAG_REPORTED_REASON``, talk 6 to 9): ``COMMENT_REPORTED_SPAM``,
  ``_OFFENSIVE``, ``_ABUSIVE`` (the commenter is abusive), ``_BIO`` (the author's bio),
  ``_OTHER``; Coral's own detections (``COMMENT_DETECTED_*``) when they are relayed as flags;
  a Coral DSA report (illegal content) is ``illegal``.

Codes are matched exactly, then case-insensitively.
"""

from __future__ import annotations

from pipeline.schemas.moderation import REPORT_REASONS, ReportReason

REASON_TABLE: dict[str, ReportReason] = {
    # Hemicycle's own
    "spam": "spam",
    "offensive": "offensive",
    "does_not_belong": "does_not_belong",
    "illegal": "illegal",
    # Decidim
    "hidden_during_block": "does_not_belong",
    "parent_hidden": "does_not_belong",
    # Coral, reported by people
    "COMMENT_REPORTED_SPAM": "spam",
    "COMMENT_REPORTED_OFFENSIVE": "offensive",
    "COMMENT_REPORTED_ABUSIVE": "offensive",
    "COMMENT_REPORTED_BIO": "offensive",
    "COMMENT_REPORTED_OTHER": "does_not_belong",
    # Coral, detected by Coral itself
    "COMMENT_DETECTED_SPAM": "spam",
    "COMMENT_DETECTED_LINKS": "spam",
    "COMMENT_DETECTED_REPEAT_POST": "spam",
    "COMMENT_DETECTED_BODY_COUNT": "spam",
    "COMMENT_DETECTED_TOXIC": "offensive",
    "COMMENT_DETECTED_BANNED_WORD": "offensive",
    "COMMENT_DETECTED_SUSPECT_WORD": "offensive",
    "COMMENT_DETECTED_TRUST": "does_not_belong",
    "COMMENT_DETECTED_RECENT_HISTORY": "does_not_belong",
    "COMMENT_DETECTED_NEW_COMMENTER": "does_not_belong",
    "COMMENT_DETECTED_PREMOD_USER": "does_not_belong",
}
_FOLDED = {code.lower(): reason for code, reason in REASON_TABLE.items()}


def map_reason(code: str) -> ReportReason | None:
    """Hemicycle's reason for a platform's code, or None when the code is unknown."""
    stripped = code.strip()
    return REASON_TABLE.get(stripped) or _FOLDED.get(stripped.lower())


def unknown_reason(code: str) -> str:
    """The sentence of a refusal naming what is accepted."""
    return (
        f"unknown reason {code[:100]!r}: use one of {', '.join(REPORT_REASONS)}, or a Decidim "
        "or Coral reason code (see the README's report reasons table)"
    )
