"""The translator workspace in a real headless Chromium: correct, export, reuse."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from playwright.sync_api import Browser, expect

from pipeline.ops.export import export_record
from tests.browser.conftest import Env, login
from tests.conftest import contribution

CORRECTED = "Der Park braucht mehr Bänke."


def test_a_correction_becomes_human_reaches_the_export_and_is_reused(
    browser: Browser, ui_env: Env
) -> None:
    cid = "decidim-test:c-300"
    before = ui_env.store.get(cid)
    assert before is not None
    [machine] = [t for t in before.translations if (t.target_language, t.field) == ("de", "body")]
    assert machine.origin == "machine"

    page = login(browser, ui_env, "tina")
    expect(page).to_have_url(re.compile(r"/translate$"))
    expect(page.locator(f'#rows tr[data-cid="{cid}"]')).to_have_count(1)
    page.goto(f"/translate/item/{cid}?lang=de")
    editor = page.locator(".pair[data-field=body] textarea")
    expect(editor).to_have_value(machine.text)
    editor.fill(CORRECTED)
    editor.press("Control+Enter")
    expect(page.locator(".pair[data-field=body] [data-origin]")).to_have_text("human")

    ui_env.pump()
    after = ui_env.store.get(cid)
    assert after is not None
    body = [t for t in after.translations if (t.target_language, t.field) == ("de", "body")]
    assert [(t.text, t.origin) for t in body] == [(CORRECTED, "human")]
    exported = export_record(after)["translations"]
    assert {"field": "body", "target_language": "de", "text": CORRECTED}.items() <= next(
        t for t in exported if t["target_language"] == "de"
    ).items()

    # TMX for CAT tools: the original and the human translation, one unit per field.
    with page.expect_download() as download:
        page.goto("/translate")
        page.click("text=Export corrections as TMX")
    root = ET.parse(download.value.path()).getroot()
    units = root.findall("./body/tu")
    assert [u.get("tuid") for u in units] == [f"{cid}#body"]
    segs = {
        tuv.get("{http://www.w3.org/XML/1998/namespace}lang"): tuv.findtext("seg")
        for tuv in units[0].findall("tuv")
    }
    assert segs == {"en": "The park needs more benches.", "de": CORRECTED}

    # The same text arriving again is translated from the translation memory.
    ui_env.ingest([contribution(310, body="The park needs more benches.", author="author-u")])
    ui_env.pump()
    fresh = ui_env.store.get("decidim-test:c-310")
    assert fresh is not None
    reused = [t for t in fresh.translations if (t.target_language, t.field) == ("de", "body")]
    assert [(t.text, t.origin) for t in reused] == [(CORRECTED, "memory")]
    page.context.close()
