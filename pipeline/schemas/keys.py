"""The contribution key: one rule that names a contribution ``(platform, id)`` as one string.

A contribution is the pair (platform, id). Stores, topics and exports need one string, so the
pair is written ``platform:id``. That is unambiguous by rule, not by luck: a platform name may
not contain ``:`` (nor whitespace or control characters), while an id may contain anything.
The key is therefore split on its *first* ``:``. Every place that builds or splits a key goes
through this module.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

SEPARATOR = ":"


@functools.lru_cache(maxsize=4096)
def check_platform_name(name: str) -> str:
    """``name`` if it is a usable platform name, else ``ValueError`` saying why.

    Cached: every event names its platform, and a deployment has a handful of them (an error
    is not cached, so a bad name is refused every time).
    """
    if SEPARATOR in name:
        raise ValueError(
            f"a platform name may not contain {SEPARATOR!r} (it separates platform and id in "
            "contribution keys)"
        )
    if re.search(r"\s", name):
        raise ValueError("a platform name may not contain whitespace")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValueError("a platform name may not contain control characters")
    return name


Platform = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(check_platform_name),
]
"""A platform name as contributions, API keys and adapters carry it."""


def contribution_key(platform: str, contribution_id: str) -> str:
    """The Hemicycle-wide id of ``(platform, id)``: envelope ``contribution_id``, bus and store key.

    Raises ``ValueError`` for a platform name that would make the key ambiguous.
    """
    if not platform:
        raise ValueError("a platform name may not be empty")
    check_platform_name(platform)
    return f"{platform}{SEPARATOR}{contribution_id}"


def split_key(key: str) -> tuple[str, str]:
    """``(platform, id)`` of a contribution key (split on the first ``:``; ids may contain it).

    Raises ``ValueError`` when ``key`` has no separator.
    """
    platform, sep, contribution_id = key.partition(SEPARATOR)
    if not sep or not platform:
        raise ValueError(f"{key[:200]!r} is not a contribution key (platform:id)")
    return platform, contribution_id


def own_id(platform: str, key: str) -> str | None:
    """The id in ``key`` when ``key`` is ``platform``'s contribution key, else None."""
    head, sep, contribution_id = key.partition(SEPARATOR)
    return contribution_id if sep and head == platform else None
