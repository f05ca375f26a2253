"""The queue page's tabs and filters, parsed from the URL into a store query."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from moderator_ui.review import DECIDED
from pipeline.schemas.events import TOXICITY_CATEGORIES
from pipeline.schemas.queue import QUEUE_STATES
from pipeline.store.base import OPEN, QueueQuery, QueueStore

PER_PAGE = 50
TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "needs_review": ("Needs review", ("needs_review",)),
    "auto_hidden": ("Auto-hidden", ("auto_hidden",)),
    "escalated": ("Escalated", ("escalated",)),
    "decided": ("Decided", DECIDED),
    "reported": ("Reported", QUEUE_STATES),
    "appeals": ("Appeals", QUEUE_STATES),
    "pending": ("Processing", ("pending",)),
}
# Tabs cut across states by a facet: people's open reports, appeals not decided yet.
TAB_FACETS: dict[str, dict[str, str]] = {
    "reported": {"reported": OPEN},
    "appeals": {"appeal": OPEN},
}
TabName = Literal[
    "needs_review", "auto_hidden", "escalated", "decided", "reported", "appeals", "pending"
]


def tab_count(store: QueueStore, counts: dict[str, int], tab: str) -> int:
    """Items in a tab: from the per-state counts, or a facet query for the cross-state tabs."""
    states = TABS[tab][1]
    if tab in TAB_FACETS:
        query = QueueQuery(states=states, limit=1, **TAB_FACETS[tab])
        return store.query(query).total
    return sum(counts.get(s, 0) for s in states)


AGES: dict[str, str] = {
    "": "any age",
    "1h": "last hour",
    "24h": "last 24 hours",
    "older24h": "older than a day",
    "older7d": "older than a week",
}
CATEGORIES = (*TOXICITY_CATEGORIES, "spam")


class QueueFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tab: TabName = "needs_review"
    q: str | None = Field(None, max_length=200, description="Free-text search.")
    language: str | None = Field(
        None, max_length=100, description="One language code or several: pl,de (und: unknown)."
    )
    space: str | None = Field(None, max_length=200)
    kind: str | None = Field(None, max_length=40)
    author: str | None = Field(None, max_length=200)
    cluster: str | None = Field(None, max_length=200)
    category: Literal[CATEGORIES] | None = None  # type: ignore[valid-type]
    min: float | None = Field(None, ge=0.0, le=1.0)
    max: float | None = Field(None, ge=0.0, le=1.0)
    age: Literal["", "1h", "24h", "older24h", "older7d"] = ""
    order: Literal["priority", "oldest"] = "priority"
    page: int = Field(1, ge=1, le=10_000)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tab", "language", "kind", "category", "age", "order", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("language")
    @classmethod
    def _codes(cls, value: str | None) -> str | None:
        if value is None:
            return None
        codes = [c.strip() for c in value.split(",") if c.strip()]
        bad = [c for c in codes if not _CODE.fullmatch(c)]
        if bad:
            raise ValueError(f"not a language code: {', '.join(bad)} (e.g. pl, or pl,de)")
        return ",".join(dict.fromkeys(codes)) or None

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.language.split(",")) if self.language else ()

    @field_validator("age", "tab", "order", mode="before")
    @classmethod
    def _defaults(cls, value: Any, info: Any) -> Any:
        defaults = {"age": "", "tab": "needs_review", "order": "priority"}
        return defaults[info.field_name] if value is None else value

    @property
    def states(self) -> tuple[str, ...]:
        return TABS[self.tab][1]

    def query(self, *, now: datetime | None = None) -> QueueQuery:
        now = now or datetime.now(UTC)
        after = before = None
        if self.age == "1h":
            after = now - timedelta(hours=1)
        elif self.age == "24h":
            after = now - timedelta(days=1)
        elif self.age == "older24h":
            before = now - timedelta(days=1)
        elif self.age == "older7d":
            before = now - timedelta(days=7)
        category = self.category or ("toxicity" if self.min or self.max else None)
        return QueueQuery(
            states=self.states,
            languages=self.languages,
            text=self.q,
            space=self.space,
            kind=self.kind.lower() if self.kind else None,
            author=self.author,
            cluster=self.cluster,
            category=category,
            min_score=self.min or 0.0,
            max_score=self.max if self.max is not None else 1.0,
            created_after=after,
            created_before=before,
            order=self.order,
            reported=OPEN if self.tab == "reported" else None,
            appeal=OPEN if self.tab == "appeals" else None,
            limit=PER_PAGE,
            offset=(self.page - 1) * PER_PAGE,
        )

    def url(self, **changes: Any) -> str:
        """This view's URL with ``changes`` (a new filter returns to page 1)."""
        values = self.model_dump() | {"page": 1} | changes
        pairs = {k: v for k, v in values.items() if v not in (None, "")}
        defaults = {"tab": "needs_review", "order": "priority", "page": 1}
        pairs = {k: v for k, v in pairs.items() if defaults.get(k) != v}
        return "/queue" + (f"?{urlencode(pairs)}" if pairs else "")

    @property
    def active(self) -> dict[str, str]:
        """Filters narrowing the tab, for the chips shown above the list."""
        names = ("language", "space", "kind", "author", "cluster", "category", "min", "max")
        out = {k: str(getattr(self, k)) for k in names if getattr(self, k) is not None}
        if self.q:
            out = {"search": self.q, **out}
        if self.age:
            out["age"] = AGES[self.age]
        return out


_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")


def filter_problems(errors: list[Any]) -> str:
    """Validation errors in words: which filter, and what is wrong with it."""
    return "; ".join(
        f"{e['loc'][0] if e['loc'] else 'filters'}: {e['msg'].removeprefix('Value error, ')}"
        for e in errors
    )


def parse_filters(params: Mapping[str, str]) -> tuple[QueueFilters, str | None]:
    """The filters of a URL; a bad value is dropped (the rest kept) and said in words.

    The page number is only checked for range here; the queue clamps it to the last page.
    """
    values = dict(params)
    try:
        return QueueFilters.model_validate(values), None
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["loc"] != ("page",)]
        bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        if "page" in bad:  # out of range: the nearest page (clamped to the last by the queue)
            page = str(values.get("page", "")).strip()
            values["page"] = "10000" if page.isdigit() and int(page) > 1 else "1"
            bad.discard("page")
        problems = filter_problems(errors)
        kept = {k: v for k, v in values.items() if k not in bad}
        try:
            return QueueFilters.model_validate(kept), problems or None
        except ValidationError:
            return QueueFilters(), problems or None
