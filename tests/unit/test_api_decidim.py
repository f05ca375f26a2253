"""The Decidim adapter: resources in, machine_translations out, the translate endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moderator_ui.app import create_app
from pipeline.api.apikeys import create_key
from pipeline.api.context import AppContext
from pipeline.api.decidim import original_text
from pipeline.api.html import html_to_text
from pipeline.config import Settings
from pipeline.schemas import ContributionSubmitted, TranslationCorrected
from pipeline.schemas.codec import decode_event
from pipeline.schemas.ids import submission_event_id
from pipeline.service import Pipeline

PLATFORM = "decidim-bcn"
ES_TITLE = "Más árboles junto al río"
ES_BODY = (
    "Deberíamos plantar muchos más árboles a lo largo del río y construir carriles para "
    "bicicletas seguros en todo el barrio."
)
EN_BODY = "We should plant many more trees along the river and build safe cycle lanes."


class Decidim:
    def __init__(self, client: TestClient, context: AppContext, key: str) -> None:
        self.client = client
        self.context = context
        self.settings = context.settings
        self.auth = {"Authorization": f"Bearer {key}"}

    def post(self, path: str, payload: Any) -> Any:
        return self.client.post(path, json=payload, headers=self.auth)

    def submitted(self) -> list[ContributionSubmitted]:
        records = self.context.bus.read(self.settings.topic("submitted"))
        return [self.context.sealer.open(decode_event(r.value)) for r in records]  # a reader

    def run_pipeline(self) -> None:
        with Pipeline(self.settings, ["langid", "translator", "scorer", "triage"]) as pipeline:
            pipeline.run(until_idle=True)

    def correct(self, cid: str, field: str, lang: str, text: str, version: int = 1) -> None:
        """A translator's translation (no MT model is installed in unit tests)."""
        self.context.publish(
            [
                TranslationCorrected(
                    contribution_id=cid,
                    contribution_version=version,
                    field=field,  # type: ignore[arg-type]
                    target_language=lang,
                    text=text,
                    translator="tester",
                )
            ]
        )


@pytest.fixture
def decidim(settings: Settings) -> Iterator[Decidim]:
    context = AppContext(settings)
    key = create_key(context.store, PLATFORM)
    with TestClient(create_app(settings, context=context)) as client:
        yield Decidim(client, context, key)
    context.close()


def proposal(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resource_type": "proposal",
        "id": 123,
        "space": "process-7",
        "author": "u-9",
        "created_at": "2026-11-20T10:00:00+01:00",
        "version": 1,
        "locale": "ca",
        "title": {"es": ES_TITLE, "machine_translations": {"en": "More trees"}},
        "body": {"ca": "", "es": f"<p>{ES_BODY}</p>", "machine_translations": {"fr": "…"}},
    }
    base.update(overrides)
    return base


# --- POST /v1/decidim/resources ----------------------------------------------------------------


def test_a_proposal_becomes_a_contribution(decidim: Decidim) -> None:
    response = decidim.post("/v1/decidim/resources", proposal())
    assert response.status_code == 202, response.text
    [entry] = response.json()["accepted"]
    assert entry["contribution_id"] == "decidim-bcn:proposal-123"
    assert entry["event_id"] == str(submission_event_id(PLATFORM, "proposal-123", 1))
    [event] = decidim.submitted()
    c = event.contribution
    assert (c.platform, c.id, c.kind, c.space, c.author) == (
        PLATFORM,
        "proposal-123",
        "proposal",
        "process-7",
        "u-9",
    )
    assert c.title == ES_TITLE  # machine translations are never taken as the original
    assert c.body == ES_BODY  # the empty "ca" skipped, HTML reduced to text
    assert c.locale_hint == "ca"
    assert event.trace.producer == "decidim"


def test_the_locale_picks_among_several_originals() -> None:
    field = {"en": "English", "ca": "Català", "machine_translations": {"es": "Español"}}
    assert original_text(field, "ca") == ("Català", "ca")
    assert original_text(field, "de") == ("English", "en")
    assert original_text(field, None) == ("English", "en")
    assert original_text({"machine_translations": {"es": "x"}}, "es") == ("", None)
    assert original_text("plain", "en") == ("plain", None)


def test_comments_debates_and_batches(decidim: Decidim) -> None:
    comment = {
        "resource_type": "Decidim::Comments::Comment",
        "id": "88",
        "space": "process-7",
        "author": None,
        "created_at": "2026-11-20T10:05:00Z",
        "body": "Estoy totalmente de acuerdo con esta propuesta.",  # GraphQL: a plain string
        "parent_id": "proposal-123",
    }
    debate = {
        "resource_type": "debate",
        "id": 4,
        "space": "assembly-2",
        "created_at": "2026-11-20T11:00:00Z",
        "title": {"fr": "Faut-il fermer la rue le dimanche ?"},
        "description": {"fr": "Discutons de la fermeture de la rue aux voitures le dimanche."},
    }
    response = decidim.post("/v1/decidim/resources", {"resources": [comment, debate]})
    assert response.status_code == 202, response.text
    events = {e.contribution.id: e.contribution for e in decidim.submitted()}
    assert events["comment-88"].kind == "comment"
    assert events["comment-88"].author == "anonymous"
    assert events["comment-88"].parent_id == "proposal-123"
    assert events["comment-88"].title is None
    assert events["debate-4"].body.startswith("Discutons")
    assert events["debate-4"].locale_hint == "fr"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": {"en": 5}}, "title"),
        ({"body": {"machine_translations": {"en": "only a translation"}}}, "body"),
        ({"body": None}, "body"),
        ({"resource_type": "meeting"}, "resource_type"),
        ({"created_at": "2026-11-20T10:00:00"}, "created_at"),
        ({"version": 0}, "version"),
        ({"description": {"es": "both"}}, "payload"),
        ({"colour": "red"}, "colour"),
        ({"title": {"not a locale": "x"}}, "title"),
    ],
)
def test_invalid_resources_name_the_field(
    decidim: Decidim, change: dict[str, Any], field: str
) -> None:
    response = decidim.post(
        "/v1/decidim/resources", {"resources": [proposal(id=1), proposal(**change)]}
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["index"] == 1
    fields = {f["field"].split(".")[0] for f in body["errors"][0]["fields"]}
    assert field in fields or field in body["detail"], body
    assert decidim.submitted() == []


def test_an_unchanged_text_under_a_new_version_is_not_published_again(decidim: Decidim) -> None:
    assert decidim.post("/v1/decidim/resources", proposal()).status_code == 202
    decidim.run_pipeline()
    state_change = decidim.post("/v1/decidim/resources", proposal(version=2))
    assert state_change.status_code == 202
    assert state_change.json()["accepted"][0]["status"] == "unchanged"
    assert state_change.json()["accepted"][0]["version"] == 1
    edited = decidim.post("/v1/decidim/resources", proposal(version=3, title={"es": "Otro"}))
    assert edited.json()["accepted"][0]["status"] == "published"
    assert [e.contribution_version for e in decidim.submitted()] == [1, 3]


def test_resources_need_a_key(decidim: Decidim) -> None:
    response = decidim.client.post("/v1/decidim/resources", json=proposal())
    assert response.status_code == 401
    assert decidim.client.get("/v1/decidim/resources/proposal/1/translations").status_code == 401


# --- GET translations and the translate endpoint -----------------------------------------------


def test_translations_come_back_in_decidims_shape(decidim: Decidim) -> None:
    missing = decidim.client.get(
        "/v1/decidim/resources/proposal/123/translations", headers=decidim.auth
    )
    assert missing.status_code == 404 and "in flight" in missing.json()["detail"]
    # The UI locale says French; the text is Spanish: detection follows the text.
    assert decidim.post("/v1/decidim/resources", proposal(locale="fr")).status_code == 202
    decidim.run_pipeline()
    decidim.correct("decidim-bcn:proposal-123", "body", "en", EN_BODY)
    decidim.correct("decidim-bcn:proposal-123", "title", "en", "More trees along the river")
    decidim.run_pipeline()

    response = decidim.client.get(
        "/v1/decidim/resources/proposal/123/translations", headers=decidim.auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["detected_language"] == "es"
    assert body["title"] == {
        "es": ES_TITLE,
        "machine_translations": {"en": "More trees along the river"},
    }
    assert body["body"] == {"es": ES_BODY, "machine_translations": {"en": EN_BODY}}
    assert "description" not in body
    assert body["unavailable"]["de"]  # no model installed: said why, per language
    bad = decidim.client.get("/v1/decidim/resources/meeting/1/translations", headers=decidim.auth)
    assert bad.status_code == 422


def test_the_translate_endpoint_submits_then_answers(decidim: Decidim) -> None:
    request = {
        "resource_type": "proposal",
        "resource_id": "123",
        "field_name": "body",
        "text": f"<p>{ES_BODY}</p>",
        "target_locale": "en",
        "source_locale": "ca",
    }
    first = decidim.post("/v1/decidim/translate", request)
    assert first.status_code == 202
    assert first.json() == {"status": "pending"}
    [event] = decidim.submitted()
    assert event.contribution.id == "proposal-123" and event.contribution.body == ES_BODY
    # Still in flight: submitted again under the same event id (dropped downstream).
    assert decidim.post("/v1/decidim/translate", request).status_code == 202
    assert len({e.event_id for e in decidim.submitted()}) == 1

    decidim.run_pipeline()
    # No MT model here: the pipeline said why, so the answer is final, not "pending" forever.
    unavailable = decidim.post("/v1/decidim/translate", request)
    assert unavailable.status_code == 200
    assert unavailable.json()["status"] == "unavailable"
    assert "no model" in unavailable.json()["reason"]
    assert len(decidim.submitted()) == 2  # the known text is not submitted again

    decidim.correct("decidim-bcn:proposal-123", "body", "en", EN_BODY)
    decidim.run_pipeline()
    done = decidim.post("/v1/decidim/translate", request)
    assert done.status_code == 200
    assert done.json() == {
        "status": "done",
        "translated_text": f"<p>{EN_BODY}</p>",  # HTML in, HTML out
        "detected_language": "es",
    }
    plain = decidim.post(
        "/v1/decidim/translate", {**request, "text": ES_BODY, "target_locale": "en-GB"}
    )
    assert plain.json()["translated_text"] == EN_BODY
    same = decidim.post("/v1/decidim/translate", {**request, "target_locale": "es-ES"})
    assert same.json() == {
        "status": "done",
        "translated_text": request["text"],
        "detected_language": "es",
    }
    not_target = decidim.post("/v1/decidim/translate", {**request, "target_locale": "ja"})
    assert not_target.json()["status"] == "unavailable"
    assert "not a configured target language" in not_target.json()["reason"]


def test_an_edited_field_is_submitted_as_a_new_version(decidim: Decidim) -> None:
    request = {
        "resource_type": "comment",
        "resource_id": 7,
        "field_name": "body",
        "text": ES_BODY,
        "target_locale": "en",
        "source_locale": "es",
    }
    assert decidim.post("/v1/decidim/translate", request).status_code == 202
    decidim.run_pipeline()
    edited = {**request, "text": ES_BODY + " También necesitamos más bancos."}
    assert decidim.post("/v1/decidim/translate", edited).status_code == 202
    versions = [(e.contribution_version, e.contribution.body) for e in decidim.submitted()]
    assert versions == [(1, ES_BODY), (2, edited["text"])]


def test_the_translate_endpoint_submits_the_whole_resource_when_given(decidim: Decidim) -> None:
    resource = proposal(version=4)
    request = {
        "resource_type": "proposal",
        "resource_id": 123,
        "field_name": "title",
        "text": ES_TITLE,
        "target_locale": "en",
        "resource": resource,
    }
    assert decidim.post("/v1/decidim/translate", request).status_code == 202
    [event] = decidim.submitted()
    assert event.contribution_version == 4
    assert (event.contribution.title, event.contribution.body) == (ES_TITLE, ES_BODY)
    assert event.event_id == submission_event_id(PLATFORM, "proposal-123", 4)

    mismatch = decidim.post("/v1/decidim/translate", {**request, "resource_id": 9})
    assert mismatch.status_code == 422
    unsupported = decidim.post("/v1/decidim/translate", {**request, "field_name": "location"})
    assert unsupported.status_code == 422
    assert unsupported.json()["error"] == "unsupported_field"
    missing = decidim.post("/v1/decidim/translate", {"resource_type": "proposal"})
    assert missing.status_code == 422
    assert {f["field"] for f in missing.json()["errors"][0]["fields"]} >= {"text", "resource_id"}


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = "<p>Hola &amp; adiós</p><p>Línea<br>dos</p><script>alert(1)</script><ul><li>a</li></ul>"
    assert html_to_text(html) == "Hola & adiós\n\nLínea\ndos\n\na"
    assert html_to_text("a < b and c > d") == "a < b and c > d"


def test_an_edit_under_an_unchanged_version_number_becomes_the_next_version(
    decidim: Decidim,
) -> None:
    """Resources without PaperTrail versions always say version 1: an edit must still land."""
    comment = {
        "resource_type": "comment",
        "id": 5,
        "space": "process-7",
        "created_at": "2026-11-20T10:05:00Z",
        "body": ES_BODY,
    }
    request = {
        "resource_type": "comment",
        "resource_id": 5,
        "field_name": "body",
        "text": ES_BODY,
        "target_locale": "en",
        "resource": comment,
    }
    assert decidim.post("/v1/decidim/translate", request).status_code == 202
    decidim.run_pipeline()
    edited_text = ES_BODY + " Y más fuentes."
    edited = {**request, "text": edited_text, "resource": {**comment, "body": edited_text}}
    assert decidim.post("/v1/decidim/translate", edited).status_code == 202
    versions = [(e.contribution_version, e.contribution.body) for e in decidim.submitted()]
    assert versions == [(1, ES_BODY), (2, edited_text)]
