"""A translator writes a translation where no model translates the pair; it is reused like a
correction (memory, TMX); an empty save is answered in words; leaving unsaved text asks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Env, login
from tests.conftest import contribution

GERMAN = "Der Bahnhof braucht mehr überdachte Fahrradständer und eine bessere Beleuchtung."
WRITTEN = "The station needs more covered bicycle racks and better lighting."
CID = "decidim-test:c-900"


def english(env: Env, cid: str) -> list[tuple[str, str]]:
    item = env.store.get(cid)
    assert item is not None
    return [(t.text, t.origin) for t in item.translations if t.target_language == "en"]


def test_a_translator_writes_where_no_model_does(browser: Browser, ui_env: Env) -> None:
    ui_env.ingest([contribution(900, body=GERMAN, author="author-g")], "german.jsonl")
    ui_env.pump()
    item = ui_env.store.get(CID)
    assert item is not None and item.language_code == "de"
    assert english(ui_env, CID) == []
    assert [u.target_language for u in item.translations_unavailable] == ["en"]

    page = login(browser, ui_env, "tina")
    page.goto("/translate?lang=en")
    expect(page.locator(f'#rows tr[data-cid="{CID}"]')).to_have_count(1)
    page.goto(f"/translate/item/{CID}?lang=en")
    pair = page.locator(".pair[data-field=body]")
    expect(pair.locator("[data-origin]")).to_have_text("none")
    expect(pair.locator(".no-model")).to_contain_text("No model translates de → en")
    editor = pair.locator("textarea")
    expect(editor).to_have_value("")

    pair.locator("[data-save]").click()
    expect(pair.locator(".save-error")).to_have_text(
        "Nothing saved: the translation is empty. Write it first."
    )
    page.evaluate(
        "fetch('/api/translations', {method: 'POST', headers: {'Content-Type': "
        "'application/json', 'X-CSRF-Token': document.querySelector("
        "'meta[name=csrf-token]').content}, body: JSON.stringify({cid: '"
        + CID
        + "', field: 'body', lang: 'en', text: '  '})}).then(r => r.json())"
        ".then(d => { window.__answer = d.detail; })"
    )
    page.wait_for_function("window.__answer !== undefined")
    assert page.evaluate("window.__answer") == (
        "nothing saved: the translation is empty, write it first"
    )

    editor.click()
    page.keyboard.type(WRITTEN)
    with page.expect_event("dialog") as leaving:  # leaving, as a click on a link would
        page.evaluate("setTimeout(() => { location.href = '/translate?lang=en'; }, 0)")
    assert leaving.value.type == "beforeunload"
    leaving.value.dismiss()
    expect(editor).to_have_value(WRITTEN)

    editor.press("Control+Enter")
    expect(pair.locator("[data-origin]")).to_have_text("human")
    expect(pair.locator(".saved")).to_contain_text("Saved")
    editor.evaluate("e => e.blur()")
    page.keyboard.press("u")
    page.wait_for_url("**/translate?lang=en")

    ui_env.pump()
    assert english(ui_env, CID) == [(WRITTEN, "human")]

    with page.expect_download() as download:
        page.click("text=Export corrections as TMX")
    root = ET.parse(download.value.path()).getroot()
    units = {u.get("tuid"): u for u in root.findall("./body/tu")}
    segs = {
        tuv.get("{http://www.w3.org/XML/1998/namespace}lang"): tuv.findtext("seg")
        for tuv in units[f"{CID}#body"].findall("tuv")
    }
    assert segs == {"de": GERMAN, "en": WRITTEN}

    # The same text arriving again is translated from the translation memory, no model needed.
    ui_env.ingest([contribution(901, body=GERMAN, author="author-h")], "german-again.jsonl")
    ui_env.pump()
    assert english(ui_env, "decidim-test:c-901") == [(WRITTEN, "memory")]
    again = ui_env.store.get("decidim-test:c-901")
    assert again is not None and again.translations_unavailable == []
    page.context.close()
