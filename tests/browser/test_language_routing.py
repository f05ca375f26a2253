"""Language routing: each moderator's languages are their default view (two moderators, two
browser contexts); an item in a language no moderator reads is shown in translation with a
marker, and counted on the operations page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from moderator_ui.accounts import Accounts
from pipeline.schemas.events import LanguageResult, Translation
from tests.browser.conftest import PASSWORD, Env, login
from tests.conftest import contribution

CID = "decidim-test:c-{n}"
POLISH = "Potrzebujemy więcej drzew w parku miejskim i nowych, bezpiecznych ścieżek rowerowych."
GERMAN = "Wir brauchen mehr Bäume im Stadtpark und neue, sichere Radwege für alle Kinder."
FRENCH = "Nous avons besoin de plus d'arbres dans le parc de la ville et de pistes cyclables."
FRENCH_IN_GERMAN = "Wir brauchen mehr Bäume im Park der Stadt und Radwege."


@pytest.fixture(scope="module")
def routed(ui_env: Env) -> Iterator[Env]:
    accounts = Accounts(ui_env.store)
    for name in ("petra", "hans"):
        accounts.add(name, "moderator", PASSWORD, language="de")
    accounts.add("ada", "admin", PASSWORD, language="en")
    ui_env.ingest(
        [
            contribution(1000, body=POLISH, author="routing"),
            contribution(1001, body=GERMAN, author="routing"),
            contribution(1002, body=FRENCH, author="routing"),
        ],
        "routing.jsonl",
    )
    ui_env.pump()
    item = ui_env.store.get(CID.format(n=1001))
    assert item is not None and item.language_code == "de"
    # The test setup identifies only its target languages (en, de): Polish and French are
    # given the language a wider identification would find, and French the machine
    # translation an fr→de model would make, written to the store as triage would.
    german = Translation(
        field="body", target_language="de", text=FRENCH_IN_GERMAN, origin="machine"
    )
    for n, lang, translations in ((1000, "pl", None), (1002, "fr", [german])):
        item = ui_env.store.get(CID.format(n=n))
        assert item is not None
        language = LanguageResult(lang=lang, confidence=0.95, reliable=True, method="test")
        update = {"language": language, "revision": item.revision + 1}
        if translations:
            update["translations"] = translations
        saved = ui_env.store.save(
            item.model_copy(update=update),
            event_id=f"test-language-{n}",
            expected_revision=item.revision,
        )
        assert saved.value == "saved"
    yield ui_env


def test_each_moderators_languages_are_their_default_view(browser: Browser, routed: Env) -> None:
    admin = login(browser, routed, "ada")
    admin.goto("/admin/users")
    field = admin.locator('input[aria-label="languages of petra"]')
    field.fill("pl")
    field.press("Enter")
    expect(admin.locator('input[aria-label="languages of petra"]')).to_have_value("pl")
    assert Accounts(routed.store).get("petra").languages == ["pl"]  # type: ignore[union-attr]

    hans = login(browser, routed, "hans")
    hans.goto("/settings")
    hans.check('input[name=languages][value="de"]')
    hans.click("text=Save")
    expect(hans.locator(".ok")).to_have_text("Saved.")

    petra = login(browser, routed, "petra")
    petra.goto("/queue")
    expect(petra).to_have_url(f"{routed.url}/queue?language=pl")
    hans.goto("/queue")
    expect(hans).to_have_url(f"{routed.url}/queue?language=de")
    expect(petra.locator(f'#rows tr[data-cid="{CID.format(n=1000)}"]')).to_have_count(1)
    expect(petra.locator(f'#rows tr[data-cid="{CID.format(n=1001)}"]')).to_have_count(0)
    expect(hans.locator(f'#rows tr[data-cid="{CID.format(n=1001)}"]')).to_have_count(1)
    expect(hans.locator(f'#rows tr[data-cid="{CID.format(n=1000)}"]')).to_have_count(0)
    for page, lang in ((petra, "pl"), (hans, "de")):
        cids = page.locator("#rows tr[data-cid]").evaluate_all(
            "rows => rows.map(r => r.dataset.cid)"
        )
        found = routed.store.get_many(cids)
        assert cids and {i.language_code for i in found.values()} == {lang}

    # Nobody reads French: it is shown in translation, with a marker.
    hans.goto("/queue?author=routing&language=")
    french = hans.locator(f'#rows tr[data-cid="{CID.format(n=1002)}"]')
    expect(french.locator(".unread-marker")).to_contain_text("no moderator reads")
    expect(french.locator(".translation.primary")).to_contain_text(FRENCH_IN_GERMAN)
    expect(hans.locator(f'#rows tr[data-cid="{CID.format(n=1000)}"] .unread-marker')).to_have_count(
        0
    )
    hans.goto(f"/items/{CID.format(n=1002)}")
    expect(hans.locator(".unread-marker")).to_contain_text("No moderator reads")

    hans.goto("/operations")
    expect(hans.locator("#unread")).to_contain_text("fr")
    expect(hans.locator("#unread [data-unread-total]")).to_have_text("1")
    for page in (admin, hans, petra):
        page.context.close()
