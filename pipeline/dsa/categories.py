"""The one table mapping Hemicycle's reason taxonomy onto the DSA categories.

The shipped table is ``pipeline/data/dsa_categories.toml`` (its header explains each column);
``HEMICYCLE_DSA_CATEGORIES_FILE`` replaces it. A key the table does not name takes its
``[fallback]`` row, so a new reason never stops an export.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.dsa.codes import KEYWORDS, MAX_SHORT_TEXT, STATEMENT_CATEGORIES
from pipeline.errors import PermanentError
from pipeline.schemas.events import TOXICITY_CATEGORIES

# Every key of Hemicycle's taxonomy; the shipped table maps each of them.
REPORT_REASONS = ("spam", "offensive", "does_not_belong", "illegal")
REJECT_REASONS = (
    "spam",
    "offensive",
    "illegal",
    "off_topic",
    "personal_data",
    "harassment",
    "misinformation",
    "duplicate",
    "other",
)
SCORED_CATEGORIES = TOXICITY_CATEGORIES
OWN_CATEGORIES = ("flood", "campaign", "premoderation")
TAXONOMY: tuple[str, ...] = tuple(
    dict.fromkeys((*REPORT_REASONS, *REJECT_REASONS, *SCORED_CATEGORIES, *OWN_CATEGORIES))
)


class CategoryTableError(PermanentError, ValueError):
    """The category table cannot be used; the message names the file and the row."""


class DsaCategory(BaseModel):
    """One row: the DSA category, keywords and usual ground of one Hemicycle key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    specification: tuple[str, ...] = ()
    specification_other: str | None = Field(None, min_length=1, max_length=MAX_SHORT_TEXT)
    ground: Literal["illegal", "incompatible"] = "incompatible"

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in STATEMENT_CATEGORIES:
            raise ValueError(f"{value!r} is no STATEMENT_CATEGORY_* of the Transparency Database")
        return value

    @field_validator("specification")
    @classmethod
    def _known_keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [keyword for keyword in value if keyword not in KEYWORDS]
        if unknown:
            raise ValueError(f"unknown KEYWORD_* code(s): {', '.join(unknown)}")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _other_only_with_keyword_other(self) -> DsaCategory:
        if self.specification_other and "KEYWORD_OTHER" not in self.specification:
            raise ValueError("specification_other needs KEYWORD_OTHER in specification")
        return self


class CategoryTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fallback: DsaCategory
    categories: dict[str, DsaCategory] = Field(default_factory=dict)

    def lookup(self, key: str) -> DsaCategory:
        """The row of ``key``, or the fallback row for a key the table does not name."""
        return self.categories.get(key, self.fallback)

    def unmapped(self, keys: tuple[str, ...] = TAXONOMY) -> list[str]:
        return [key for key in keys if key not in self.categories]


def shipped_table_path() -> Path:
    return Path(str(resources.files("pipeline.data") / "dsa_categories.toml"))


def load_table(path: Path | None = None) -> CategoryTable:
    """Read and check a category table (the shipped one without ``path``)."""
    target = path or shipped_table_path()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CategoryTableError(f"{target}: cannot read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CategoryTableError(f"{target}: not TOML ({exc})") from exc
    try:
        return CategoryTable.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise CategoryTableError(f"{target}: {problems}") from exc


@lru_cache(maxsize=8)
def cached_table(path: Path | None = None) -> CategoryTable:
    return load_table(path)
