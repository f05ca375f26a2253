"""The store cache's namespaces, all in one place: ``QueueStore.cache_*`` accepts only these.

Each module that owns a namespace keeps its constant (``SENT: CacheNamespace = ...``) and type
checking refuses a name missing here. A namespace per owner (a moderator's saved views) is
built with :func:`scoped`. None is a projection of the log: ``QueueStore.clear`` keeps them all.
"""

from __future__ import annotations

from typing import Literal, NewType, get_args

CacheNamespace = Literal[
    "health",  # the readiness probe's one key read
    "apikeys",  # platform API keys: key hash → record (JSON)
    "sanctions",  # sanction event id → contribution id it was filed on
    "author-sanctions",  # author key → that author's sanctions (JSON)
    "triage-pending",  # contribution key → events parked until their version arrives (JSON)
    "data-keys",  # personal-data sealing keys by key id (erased by deletion)
    "author-contributions",  # author → the contributions whose keys an erasure deletes
    "erased-authors",  # erased author keys
    "tm",  # translation memory: corrected segments
    "mt",  # machine translation cache: segments already translated
    "delivery-sent",  # event id → "1": delivered (by the worker or a replay)
    "delivery-replayed",  # event id → "1" or "superseded": a dead letter replayed
    "delivery-outcome-at",  # contribution id → occurred_at of the latest outcome sent
    "dsa-submitted",  # ``<endpoint>|<puid>`` → statements sent to the Transparency Database
    "users",  # moderator accounts (moderator_ui.accounts)
    "sessions",  # moderator session token digest → session (JSON)
    "login-failures",  # failed logins, for the lockout (moderator_ui.security)
    "ui-decided",  # contribution id → the decision the UI just published (overlay marker)
    "ui-moderation",  # moderator_ui.moderation: what the UI published, until the log has it
    "ui-corrected",  # corrections the UI published, overlaid until the log has them
    "ui-activity",  # moderator_ui.claims
    "ui-live",  # moderator_ui.claims
    "ops",  # moderator_ui.operations: the operations page's samples
]
# Families of namespaces, one per owner: ``<family>:<owner>``.
ScopedFamily = Literal["ui-views"]  # a moderator's saved queue views
ScopedNamespace = NewType("ScopedNamespace", str)
# What the store's cache methods take.
Namespace = CacheNamespace | ScopedNamespace

CACHE_NAMESPACES: tuple[CacheNamespace, ...] = get_args(CacheNamespace)


def scoped(family: ScopedFamily, owner: str) -> ScopedNamespace:
    """The namespace of ``owner`` in ``family`` (``ui-views:alice``)."""
    return ScopedNamespace(f"{family}:{owner}")
