"""``replaced``: a validated model with some fields set to values that are valid already.

What ``model.model_copy(update=...)`` gives, with less work: pydantic's copy goes through
``copy.copy`` of every part of the instance, then updates the copy; this builds the new
instance's dictionary once (1.5x quicker on a contribution, three fields replaced). The hot
paths use it (sealing and opening personal fields: three copies per event in the language-ID
stage). Like ``model_copy``, nothing is validated: the caller passes values of the fields'
types (a sealed token for a text, an opened text for a token, another validated part).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["replaced"]

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__


def replaced(model: M, update: dict[str, Any]) -> M:
    """``model.model_copy(update=update)`` for fields of the model (not extra ones)."""
    cls = type(model)
    copy = cls.__new__(cls)
    _set(copy, "__dict__", {**model.__dict__, **update})
    extra = model.__pydantic_extra__
    _set(copy, "__pydantic_extra__", None if extra is None else dict(extra))
    _set(copy, "__pydantic_fields_set__", model.__pydantic_fields_set__ | update.keys())
    private = model.__pydantic_private__
    _set(copy, "__pydantic_private__", None if private is None else dict(private))
    return copy
