"""``hemicycle rebuild`` reaches the live state byte for byte: ``export --full`` is identical
after ingest, edits, human decisions on versions later edited, conflicts, bulk actions and
corrections — on the embedded pair and on Kafka (Tansu) + Redis.

Live, triage sees the topics interleaved as its consumer fetched them, decisions on version 1
before version 2 existed; the rebuild streams the topics in another interleaving.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.bus import open_bus
from pipeline.config import Settings
from pipeline.schemas import ModerationDecided, TranslationCorrected
from pipeline.schemas.moderation import (
    AppealDecided,
    AppealFiled,
    AuthorSanctioned,
    ContributionReported,
    IllegalNotice,
)
from pipeline.store import open_store
from tests.integration.conftest import hemicycle, sample_rows


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(  # type: ignore[call-arg]
        **{
            k.removeprefix("HEMICYCLE_").lower(): v
            for k, v in env.items()
            if k.startswith("HEMICYCLE_")
        }
    )


def differences(before: str, after: str) -> list[tuple[str, str, Any, Any]]:
    """(item, field, before, after) for every field that differs: a readable failure."""
    old = [json.loads(line) for line in before.splitlines()]
    new = [json.loads(line) for line in after.splitlines()]
    out = []
    for a, b in zip(old, new, strict=True):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                out.append((a["contribution"]["id"], key, a.get(key), b.get(key)))
    return out


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def publish(settings: Settings, events: list[Any]) -> None:
    """What the moderator UI does: one event per action on the decisions/corrections topics."""
    bus = open_bus(settings)
    producer = bus.producer()
    for event in events:
        producer.publish(
            settings.topic_of(event.type), event.contribution_id, event.to_json(), event.headers()
        )
    producer.close()
    bus.close()


def moderation_of_record(cids: list[str], rows: list[dict[str, Any]]) -> list[Any]:
    """Reports (three people; an illegal-content notice; one for a contribution not yet
    known), a suspension and a pre-moderation."""

    def report(n: int, reporter: str, reason: str = "spam", **extra: Any) -> Any:
        return ContributionReported(
            contribution_id=cids[n] if n < len(cids) else f"{rows[0]['platform']}:r-{n}",
            contribution_version=1,
            platform=rows[0]["platform"],
            reporter=reporter,
            reason=reason,  # type: ignore[arg-type]
            **extra,
        )

    notice = IllegalNotice(legal_ground="hate speech law", explanation="Incites.", bona_fide=True)
    return [
        report(20, "p-1"),
        report(20, "p-2", "offensive"),
        report(20, "p-3"),
        report(21, "p-1", "illegal", notice=notice),
        report(99, "p-4"),  # waits for a contribution never ingested
        AuthorSanctioned(
            contribution_id=cids[22],
            contribution_version=1,
            platform=rows[22]["platform"],
            author=rows[22]["author"],
            action="suspend",
            until=datetime.now(UTC) + timedelta(days=7),
            moderator="ana",
            reason_code="harassment",
            statement="Insults.",
        ),
        AuthorSanctioned(
            contribution_id=cids[23],
            contribution_version=1,
            platform=rows[23]["platform"],
            author=rows[23]["author"],
            action="premoderate",
            moderator="ana",
            statement="Spam.",
        ),
    ]


def decided(cid: str, version: int, decision: str, by: str, seen: int, **extra: Any) -> Any:
    return ModerationDecided(
        contribution_id=cid,
        contribution_version=version,
        decision=decision,  # type: ignore[arg-type]
        moderator=by,
        seen_decisions=seen,
        reason_code="spam" if decision == "reject" else None,
        **extra,
    )


@pytest.mark.slow
@pytest.mark.timeout(900)  # six pipeline runs; each joins four consumer groups on Kafka
@pytest.mark.parametrize("pair", ["embedded", "kafka_redis"])
def test_rebuild_gives_back_the_live_store_byte_for_byte(
    pair: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env: dict[str, str] = request.getfixturevalue(f"{pair}_env")
    settings = settings_of(env)
    rows = [
        dict(row, id=f"r-{n}")
        for n, row in enumerate(r for r in sample_rows() if r["version"] == 1)
    ][:40]
    cids = [f"{r['platform']}:{r['id']}" for r in rows]
    write(tmp_path / "v1.jsonl", rows)
    hemicycle(env, "ingest", str(tmp_path / "v1.jsonl"))
    hemicycle(env, "run", "--until-idle")

    bulk = uuid.uuid4().hex
    publish(
        settings,
        [decided(cid, 1, "approve", "ana", 0) for cid in cids[:8]]
        + [decided(cid, 1, "reject", "ben", 0, bulk_id=bulk) for cid in cids[8:14]]
        + [decided(cids[14], 1, "escalate", "ana", 0, statement="Legal should look at it")]
        + [decided(cids[15], 1, "approve", "ana", 0), decided(cids[15], 1, "reject", "ben", 0)]
        + [
            TranslationCorrected(
                contribution_id=cid,
                contribution_version=1,
                field="body",
                target_language="de",
                text=f"Eine menschliche Übersetzung {n}.",
                translator="tina",
            )
            for n, cid in enumerate(cids[16:20])
        ]
        + moderation_of_record(cids, rows),
    )
    hemicycle(env, "run", "--until-idle")
    appeal = AppealFiled(
        contribution_id=cids[9],
        contribution_version=1,
        platform=rows[9]["platform"],
        appellant=rows[9]["author"],
        statement="My proposal is not spam.",
    )
    publish(settings, [appeal])
    hemicycle(env, "run", "--until-idle")
    publish(
        settings,
        [
            AppealDecided(
                contribution_id=cids[9],
                contribution_version=1,
                appeal_id=str(appeal.event_id),
                result="reversed",
                moderator="ana",
                reply="It is on topic.",
            )
        ],
    )
    hemicycle(env, "run", "--until-idle")

    # Edits of decided items: version 2 reopens them; then decisions on the new versions.
    edits = [dict(row, version=2, body=row["body"] + " (edited)") for row in rows[:5] + rows[8:10]]
    write(tmp_path / "v2.jsonl", edits)
    hemicycle(env, "ingest", str(tmp_path / "v2.jsonl"))
    hemicycle(env, "run", "--until-idle")
    publish(
        settings,
        [decided(cids[0], 2, "reject", "ben", 1), decided(cids[8], 2, "approve", "ana", 1)],
    )
    hemicycle(env, "run", "--until-idle")

    live = hemicycle(env, "export", "--full").stdout
    items = {json.loads(line)["contribution"]["id"]: json.loads(line) for line in live.splitlines()}
    assert len(items) == 40
    first = items["r-0"]
    assert (first["contribution"]["version"], first["state"]) == (2, "rejected"), first
    assert [(d["by"], d["version"]) for d in first["decisions"]] == [("ana", 1), ("ben", 2)]
    assert items["r-3"]["state"] not in {"approved", "rejected"}  # edited after approval
    assert [c["by"] for c in items["r-15"]["conflicts"]] == ["ben"]
    assert {d["bulk_id"] for d in items["r-11"]["decisions"]} == {bulk}
    german = [t for t in items["r-16"]["translations"] if t["target_language"] == "de"]
    assert [t["origin"] for t in german] == ["human"]
    assert (items["r-20"]["state"], len(items["r-20"]["reports"])) == ("auto_hidden", 3)
    assert items["r-21"]["state"] == "escalated"  # an illegal-content notice
    assert [s["restriction"] for s in items["r-22"]["statements"]] == ["suspend"]
    assert items["r-9"]["appeals"][0]["result"] == "reversed"
    restricted = [i for i in items.values() if i["state"] in {"rejected", "auto_hidden"}]
    assert restricted and all(i["statements"] for i in restricted)  # each has its statement

    # Re-ingesting a file changes nothing: the same event ids, applied once.
    hemicycle(env, "ingest", str(tmp_path / "v1.jsonl"))
    hemicycle(env, "run", "--until-idle")
    changed = differences(live, hemicycle(env, "export", "--full").stdout)
    assert not changed, "\n".join(f"{i} {k}: {a!r:.100} -> {b!r:.100}" for i, k, a, b in changed)

    rebuilt = hemicycle(env, "rebuild", "--yes")
    assert "into 40 items" in rebuilt.stdout
    after = hemicycle(env, "export", "--full").stdout
    assert differences(live, after) == []
    for old, new in zip(live.splitlines(), after.splitlines(), strict=True):
        assert old == new
    assert after == live
    store = open_store(settings)
    assert sum(store.counts().values()) == 40
    store.close()
