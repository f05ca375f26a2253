"""The operations page: six plots drawn from the store, the audit log and the metrics, with a
minute-by-minute series kept in the store's cache, refreshed live."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, expect

from moderator_ui.operations import KEY, MAX_SAMPLES, NAMESPACE, sample_if_due, take_sample
from tests.browser.conftest import Env, login
from tests.conftest import contribution

PLOTS = ("states", "oldest", "decisions", "throughput", "languages", "dead")


def test_the_series_is_sampled_once_a_minute_and_bounded(ui_env: Env) -> None:
    store = ui_env.store
    now = datetime.now(UTC)
    store.cache_set(NAMESPACE, KEY, json.dumps([take_sample(store, now - timedelta(minutes=1))]))
    assert len(sample_if_due(store, now - timedelta(seconds=30))) == 1  # not a minute yet
    assert len(sample_if_due(store, now)) == 2
    old = [take_sample(store, now - timedelta(minutes=m)) for m in range(MAX_SAMPLES, 0, -1)]
    store.cache_set(NAMESPACE, KEY, json.dumps(old))
    series = sample_if_due(store, now)
    assert len(series) == MAX_SAMPLES and series[-1]["t"] == int(now.timestamp())


def test_the_operations_page_draws_every_plot_with_data(browser: Browser, ui_env: Env) -> None:
    store = ui_env.store
    now = datetime.now(UTC)
    store.cache_set(
        NAMESPACE,
        KEY,
        json.dumps([take_sample(store, now - timedelta(minutes=m)) for m in (3, 2, 1)]),
    )
    page = login(browser, ui_env, "bob")
    page.goto("/queue")
    page.wait_for_selector("#rows tr.cursor")
    page.keyboard.press("a")
    expect(page.locator("#toast")).to_contain_text("Approved")

    page.click('header nav a[href="/operations"]')
    expect(page.locator("body[data-ops-ready=yes]")).to_have_count(1)
    for name in PLOTS:
        plot = page.locator(f'[data-plot="{name}"]')
        expect(plot.locator("canvas")).to_have_count(1)
        if name != "dead":  # no dead letters in this run: the plot says so
            assert int(plot.get_attribute("data-points") or 0) > 0, name
    expect(page.locator('[data-plot="dead"] .empty')).to_have_text("No dead letters.")
    expect(page.locator('[data-plot="decisions"] .u-legend')).to_contain_text("bob")
    expect(page.locator('[data-plot="languages"] .u-legend')).to_contain_text("contributions")
    assert int(page.locator("[data-figure=samples]").text_content() or 0) >= 4
    review = int(page.locator("[data-figure=review]").text_content() or 0)

    late = [
        contribution(1200 + n, body=f"Late proposal {n}: a night bus line to {place}.")
        for n, place in enumerate(("the airport", "the harbour"))
    ]
    ui_env.ingest(late, "late.jsonl")
    ui_env.pump()
    expect(page.locator("[data-figure=review]")).not_to_have_text(str(review), timeout=30_000)
    page.context.close()
