"""``hemicycle dsa export`` and ``submit`` against a local Transparency Database stand-in.

The store is the real embedded store; the server (tests/dsa_server.py) validates with rules
written from the Transparency Database's PHP sources, independently of pipeline.dsa.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.cli import main
from pipeline.dsa.categories import TAXONOMY, load_table
from pipeline.dsa.statement import to_dsa
from pipeline.dsa.submit import NAMESPACE, SubmitError, Submitter
from pipeline.schemas.statements import RESTRICTIONS, StatementOfReasons
from pipeline.store.embedded import EmbeddedStore
from tests.dsa_server import DsaServer, validate_statement
from tests.dsa_statements import item_with, statement
from tests.integration.conftest import base_env, hemicycle

TOKEN = "secret-test-token"


def all_kinds() -> list[StatementOfReasons]:
    """Every restriction, every taxonomy key, both grounds, every source, contacts to scrub."""
    made: list[StatementOfReasons] = []
    n = 0
    for restriction in RESTRICTIONS:
        for key in TAXONOMY:
            n += 1
            end = date(2026, 12, 31) if restriction in ("suspend", "premoderate") else None
            made.append(
                statement(
                    n,
                    restriction=restriction,
                    category=key,
                    end_date=end,
                    application_date=date(2026, 11, 1 + n % 28),
                    facts=f"Decision {n}: author-secret-7 (+33 6 12 34 56 78) was told.",
                    source=("voluntary", "article_16", "trusted_flagger", "other_notification")[
                        n % 4
                    ],
                    content_language=("fr", "de", "el", "und", None)[n % 5],
                    superseded=n % 3 == 0,
                )
            )
    n += 1
    made.append(
        statement(
            n,
            ground="illegal",
            category="illegal",
            legal_ground="Art. 10 of the national law on hate speech",
            illegal_explanation="Notice by jane.doe@example.org: incitement.",
            incompatible_ground=None,
            source="article_16",
        )
    )
    return made


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = base_env(HEMICYCLE_DATA_DIR=str(tmp_path / "data"), HEMICYCLE_DSA_TOKEN=TOKEN)
    for key in list(__import__("os").environ):
        if key.startswith("HEMICYCLE_"):
            monkeypatch.delenv(key)
    for key, value in values.items():
        if key.startswith("HEMICYCLE_"):
            monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def store(env: dict[str, str]) -> Iterator[EmbeddedStore]:
    backend = EmbeddedStore(Path(env["HEMICYCLE_DATA_DIR"]) / "store.sqlite3")
    yield backend
    backend.close()


@pytest.fixture
def server() -> Iterator[DsaServer]:
    api = DsaServer(token=TOKEN)
    yield api
    api.stop()


def fill(store: EmbeddedStore, statements: list[StatementOfReasons], per_item: int = 3) -> None:
    for start in range(0, len(statements), per_item):
        n = start // per_item + 1
        item = item_with(n, statements[start : start + per_item])
        store.save(item, event_id=f"e-{n}", expected_revision=0)


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_exported_line_is_accepted_by_the_databases_rules(
    env: dict[str, str], store: EmbeddedStore, tmp_path: Path
) -> None:
    statements = all_kinds()
    fill(store, statements)
    store.close()
    output = tmp_path / "statements.jsonl"
    hemicycle(env, "dsa", "export", "-o", str(output))
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(lines) == len(statements)
    assert len({line["puid"] for line in lines}) == len(lines)
    for line in lines:
        assert validate_statement(line) == {}, line["puid"]
    text = output.read_text()
    for secret in (
        "author-secret-7",
        "moderator-alice",
        "12 34 56 78",
        "jane.doe@",
        "decidim-test:c-",
    ):
        assert secret not in text
    ordered = [(line["application_date"], line["puid"]) for line in lines]
    assert ordered == sorted(ordered)
    again = hemicycle(env, "dsa", "export").stdout
    assert again == text


def test_export_selects_by_application_date_and_platform(
    env: dict[str, str], store: EmbeddedStore, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(
        store,
        [
            statement(1, application_date=date(2026, 10, 31)),
            statement(2, application_date=date(2026, 11, 1)),
            statement(3, application_date=date(2026, 11, 30)),
            statement(4, application_date=date(2026, 12, 1)),
            statement(5, application_date=date(2026, 11, 15), platform="coral-test"),
        ],
        per_item=1,
    )
    code, out, _ = run("dsa", "export", "--from", "2026-11-01", "--to", "2026-11-30", capsys=capsys)
    assert code == 0
    assert [json.loads(line)["puid"] for line in out.splitlines()] == [
        statement(2).puid,
        statement(5).puid,
        statement(3).puid,
    ]
    code, out, _ = run("dsa", "export", "--platform", "coral-test", capsys=capsys)
    assert [json.loads(line)["puid"] for line in out.splitlines()] == [statement(5).puid]


def test_a_statement_breaking_a_rule_is_named_and_left_out(
    env: dict[str, str], store: EmbeddedStore, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = statement(2, ground="illegal", legal_ground=None, incompatible_ground=None)
    fill(store, [statement(1), broken])
    code, out, err = run("dsa", "export", capsys=capsys)
    assert code == 1
    assert [json.loads(line)["puid"] for line in out.splitlines()] == [statement(1).puid]
    assert broken.puid in err and "illegal_content_legal_ground" in err


def test_submit_sends_batches_then_skips_what_was_accepted(
    env: dict[str, str],
    store: EmbeddedStore,
    server: DsaServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    statements = all_kinds()  # 127: two batches
    fill(store, statements)
    code, out, err = run("dsa", "submit", "--endpoint", server.url, capsys=capsys)
    assert code == 0, err
    assert f"sent {len(statements)}, skipped 0" in out
    assert server.calls == [100, len(statements) - 100]
    assert set(server.accepted) == {s.puid for s in statements}
    recorded = store.cache_get_many(NAMESPACE, [f"{server.url}|{s.puid}" for s in statements])
    assert len(recorded) == len(statements)
    assert all(json.loads(v)["uuid"] for v in recorded.values())

    code, out, _ = run("dsa", "submit", "--endpoint", server.url, capsys=capsys)
    assert code == 0
    assert f"sent 0, skipped {len(statements)}" in out
    assert server.calls == [100, len(statements) - 100]  # nothing sent again


def test_submit_retries_503_with_backoff(
    env: dict[str, str],
    store: EmbeddedStore,
    server: DsaServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill(store, [statement(n) for n in range(1, 6)])
    server.fail_next(2)
    code, out, err = run(
        "dsa", "submit", "--endpoint", server.url, "--backoff-s", "0", capsys=capsys
    )
    assert code == 0, err
    assert "sent 5" in out
    assert server.answers == [503, 503, 201]


def test_submit_gives_up_when_the_api_stays_down(
    env: dict[str, str],
    store: EmbeddedStore,
    server: DsaServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill(store, [statement(1)])
    server.fail_next(10)
    code, out, err = run(
        "dsa",
        "submit",
        "--endpoint",
        server.url,
        "--backoff-s",
        "0",
        "--attempts",
        "3",
        capsys=capsys,
    )
    assert code == 1
    assert "unreachable after 3 attempts (HTTP 503)" in err
    assert "sent 0, skipped 0 (already accepted), refused 1" in out
    assert store.cache_get(NAMESPACE, f"{server.url}|{statement(1).puid}") is None


def test_a_puid_the_database_already_has_counts_as_accepted(
    env: dict[str, str],
    store: EmbeddedStore,
    server: DsaServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill(store, [statement(n) for n in range(1, 5)])
    earlier = to_dsa(statement(2), table=load_table())
    server.accepted[earlier["puid"]] = earlier  # sent before, e.g. from another machine
    code, out, err = run("dsa", "submit", "--endpoint", server.url, capsys=capsys)
    assert code == 0, err
    assert "sent 3, skipped 1" in out
    assert server.answers == [422, 201]
    assert store.cache_get(NAMESPACE, f"{server.url}|{statement(2).puid}") is not None


def test_a_refused_batch_is_reported_and_nothing_of_it_recorded(
    store: EmbeddedStore, server: DsaServer
) -> None:
    table = load_table()
    good = [to_dsa(statement(n), table=table) for n in range(1, 8)]
    injected = {**good[4], "puid": "hc-injected", "decision_facts": "", "category": "SPAM"}
    rows = [*good[:4], injected, *good[4:]]
    submitter = Submitter(server.url, TOKEN, store, batch_size=3, backoff_s=0)
    with pytest.raises(SubmitError) as caught:
        submitter.submit(rows)
    message = str(caught.value)
    assert "HTTP 422" in message and "hc-injected" in message
    assert "decision_facts" in message and "category" in message
    # Batches: [1,2,3] accepted; [4,injected,5] refused; [6,7] never sent.
    assert set(server.accepted) == {r["puid"] for r in good[:3]}
    recorded = store.cache_get_many(NAMESPACE, [f"{server.url}|{r['puid']}" for r in rows])
    assert set(recorded) == {f"{server.url}|{r['puid']}" for r in good[:3]}
    assert server.calls == [3, 3]


def test_submit_summary_counts_the_refused_batch(
    env: dict[str, str],
    store: EmbeddedStore,
    server: DsaServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database refusing something our own check let through (its rules changed)."""
    fill(store, [statement(n) for n in range(1, 4)])
    original = validate_statement

    def stricter(raw: Any) -> dict[str, list[str]]:
        if raw.get("puid") == statement(2).puid:
            return {"category": ["The selected category is invalid."]}
        return original(raw)

    monkeypatch.setattr("tests.dsa_server.validate_statement", stricter)
    code, out, err = run("dsa", "submit", "--endpoint", server.url, capsys=capsys)
    assert code == 1
    assert f"statement {statement(2).puid} (#2 of the batch): category" in err
    assert "sent 0, skipped 0 (already accepted), refused 3, not sent 0" in out
    assert server.accepted == {}


def test_submit_without_a_token_or_with_a_wrong_one(
    env: dict[str, str],
    store: EmbeddedStore,
    server: DsaServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fill(store, [statement(1)])
    monkeypatch.setenv("HEMICYCLE_DSA_TOKEN", "wrong")
    code, _, err = run("dsa", "submit", "--endpoint", server.url, capsys=capsys)
    assert code == 1 and "refused the token (HTTP 401)" in err
    monkeypatch.delenv("HEMICYCLE_DSA_TOKEN")
    code, _, err = run("dsa", "submit", "--endpoint", server.url, capsys=capsys)
    assert code == 2 and "HEMICYCLE_DSA_TOKEN is not set" in err
    assert server.accepted == {}


def test_connection_failures_are_retried(store: EmbeddedStore, server: DsaServer) -> None:
    attempts: list[int] = []
    real = httpx.HTTPTransport()

    class Flaky(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            attempts.append(1)
            if len(attempts) < 3:
                raise httpx.ConnectError("connection refused", request=request)
            return real.handle_request(request)

    waits: list[float] = []
    submitter = Submitter(
        server.url,
        TOKEN,
        store,
        backoff_s=0.5,
        sleep=waits.append,
        client=httpx.Client(transport=Flaky()),
    )
    summary = submitter.submit([to_dsa(statement(1), table=load_table())])
    assert summary.sent == 1
    assert waits == [0.5, 1.0]  # exponential


def test_categories_command_and_an_operators_table(
    env: dict[str, str],
    store: EmbeddedStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, _ = run("dsa", "categories", "--json", capsys=capsys)
    assert code == 0
    shown = json.loads(out)
    assert set(TAXONOMY) < set(shown)
    assert shown["spam"]["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"

    table = tmp_path / "mine.toml"
    table.write_text(
        '[fallback]\ncategory = "STATEMENT_CATEGORY_VIOLENCE"\n'
        '[categories.harassment]\ncategory = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"\n'
    )
    monkeypatch.setenv("HEMICYCLE_DSA_CATEGORIES_FILE", str(table))
    fill(store, [statement(1), statement(2, category="spam")])
    code, out, _ = run("dsa", "export", capsys=capsys)
    assert code == 0
    assert [json.loads(line)["category"] for line in out.splitlines()] == [
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "STATEMENT_CATEGORY_VIOLENCE",
    ]
    table.write_text('[fallback]\ncategory = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"\n')
    code, _, err = run("dsa", "export", capsys=capsys)
    assert code == 2 and "fallback.category" in err


def test_submit_refuses_a_batch_larger_than_the_api_takes(
    env: dict[str, str], server: DsaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        "dsa", "submit", "--endpoint", server.url, "--batch-size", "101", capsys=capsys
    )
    assert code == 2 and "--batch-size" in err
    with pytest.raises(SystemExit):
        main(["dsa", "submit", "--endpoint", "ftp://example.org"])
    assert server.calls == []
