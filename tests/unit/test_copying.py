"""``replaced`` gives what ``model_copy(update=...)`` gives, and ``constructed`` what
``model_construct`` gives, for every kind of model they meet."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from pipeline.schemas import (
    Contribution,
    ContributionSubmitted,
    ContributionTranslated,
    Translation,
)
from pipeline.schemas.copying import constructed, replaced
from tests.conftest import contribution


def submitted() -> ContributionSubmitted:
    return ContributionSubmitted(contribution=Contribution(**contribution(title="Title")))


def same(a: BaseModel, b: BaseModel) -> None:
    assert type(a) is type(b)
    assert a == b
    assert a.__dict__ == b.__dict__
    assert a.model_fields_set == b.model_fields_set
    assert a.__pydantic_extra__ == b.__pydantic_extra__
    assert a.__pydantic_private__ == b.__pydantic_private__
    assert a.model_dump_json() == b.model_dump_json()


def test_a_nested_contribution_is_replaced_as_model_copy_does() -> None:
    event = submitted()
    inner = replaced(event.contribution, {"body": "enc1.k.x", "author": "enc1.k.y"})
    same(inner, event.contribution.model_copy(update={"body": "enc1.k.x", "author": "enc1.k.y"}))
    same(replaced(event, {"contribution": inner}), event.model_copy(update={"contribution": inner}))
    assert event.contribution.body == contribution()["body"]  # the original is untouched
    assert replaced(event, {"contribution": inner}).contribution is inner


def test_fields_set_grows_by_the_fields_replaced() -> None:
    event = submitted()
    assert "title" in event.contribution.model_fields_set
    fields = contribution(2)
    del fields["title"]
    bare = Contribution(**fields)
    assert "title" not in bare.model_fields_set
    assert "title" in replaced(bare, {"title": "T"}).model_fields_set
    same(replaced(bare, {"title": "T"}), bare.model_copy(update={"title": "T"}))


def test_extra_and_private_parts_are_copied_not_shared() -> None:
    class Loose(BaseModel):
        model_config = ConfigDict(extra="allow")
        text: str
        _memo: dict[str, int] = {}

    loose = Loose(text="a", other=1)  # type: ignore[call-arg]
    copy = replaced(loose, {"text": "b"})
    same(copy, loose.model_copy(update={"text": "b"}))
    assert copy.__pydantic_extra__ == {"other": 1}
    assert copy.__pydantic_extra__ is not loose.__pydantic_extra__


def test_a_translations_list_is_replaced() -> None:
    event = ContributionTranslated(
        contribution_id="p:c",
        contribution_version=1,
        source_language="en",
        translations=[
            Translation(field="body", target_language="de", text="Bäume", origin="machine")
        ],
    )
    texts = [replaced(t, {"text": "enc1.k.z"}) for t in event.translations]
    same(
        replaced(event, {"translations": texts}),
        event.model_copy(update={"translations": texts}),
    )


def test_an_event_with_every_field_is_constructed_as_model_construct_does() -> None:
    event = submitted()
    values = dict(reversed(event.__dict__.items()))  # the order given does not matter
    made = constructed(ContributionSubmitted, values)
    same(made, ContributionSubmitted.model_construct(**values))
    assert list(made.__dict__) == list(ContributionSubmitted.model_fields)
    assert made.__dict__ is not values
    assert made == event and made.to_json() == event.to_json()


def test_missing_fields_extra_and_post_init_go_to_model_construct() -> None:
    class Defaults(BaseModel):
        text: str
        count: int = 3

    class Loose(BaseModel):
        model_config = ConfigDict(extra="allow")
        text: str

    class Counted(BaseModel):
        text: str
        _seen: int = 0

        def model_post_init(self, context: object) -> None:
            self._seen = len(self.text)

    same(constructed(Defaults, {"text": "a"}), Defaults.model_construct(text="a"))
    assert constructed(Defaults, {"text": "a"}).model_fields_set == {"text"}
    same(constructed(Defaults, {"text": "a", "count": 1}), Defaults(text="a", count=1))
    same(constructed(Loose, {"text": "a"}), Loose.model_construct(text="a"))
    assert constructed(Counted, {"text": "abc"})._seen == 3
