"""Storage against SQLite and a real PostgreSQL server: migrations, decisions, feedback, replay guard, report."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from storage import AuditStore, Database, DecisionEntry, FeedbackEntry, IssuedCard, Pseudonymizer, StorageError
from storage.schema import Base

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
KEY = b"k" * 32


OPENED: list[Database] = []


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().dispose()


def opened(url: str) -> Database:
    database = Database(url)
    OPENED.append(database)
    return database


def migrated(url: str) -> Database:
    database = opened(url)
    database.upgrade()
    return database


def decision(card: str | None, rule: str | None = "start-pop2-window", **changes: object) -> DecisionEntry:
    values: dict[str, object] = {
        "recorded_at": NOW,
        "service_id": "sid-igrt-order-select",
        "hook": "order-select",
        "hook_instance": "hi-1",
        "client_issuer": "https://ehr.test.example",
        "patient_hmac": Pseudonymizer(KEY).patient("sid-pop2-window"),
        "outcome": "card" if card else "quiet",
        "rule_id": rule,
        "recommendation": "start",
        "population": 2,
        "guideline_version": "SID 1.1",
        "card_uuid": card,
        "as_of": date(2026, 11, 20),
        "fetched_keys": ("observations", "conditions"),
        "data_issue_count": 1,
    }
    values.update(changes)
    return DecisionEntry(**values)  # type: ignore[arg-type]


def feedback(card: str, outcome: str, *, minutes: int = 0, reason: str | None = None) -> FeedbackEntry:
    return FeedbackEntry(
        received_at=NOW,
        service_id="sid-igrt-order-select",
        client_issuer=None,
        card_uuid=card,
        outcome=outcome,
        accepted_suggestions=("s-1",) if outcome == "accepted" else (),
        override_reason_system="http://example.org/override" if reason else None,
        override_reason_code=reason,
        override_reason_display=reason.title() if reason else None,
        has_user_comment=reason is not None,
        outcome_timestamp=NOW + timedelta(minutes=minutes),
    )


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    database = migrated(database_url)
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    database.require_current()
    database.upgrade()  # idempotent


def test_an_unmigrated_database_is_refused(database_url: str) -> None:
    with pytest.raises(StorageError, match="cds-service db upgrade"):
        opened(database_url).require_current()


def test_decisions_round_trip_without_the_patient_id(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    entry = decision("card-1")
    store.record_decision(entry)
    store.record_decision(
        decision(None, rule=None, outcome="prefetch-unavailable", recommendation=None, population=None)
    )
    newest, first = store.decisions()
    assert first == entry
    assert newest.outcome == "prefetch-unavailable" and newest.rule_id is None
    assert first.patient_hmac != "sid-pop2-window" and len(first.patient_hmac) == 64


def test_feedback_round_trips(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    items = [feedback("card-1", "accepted"), feedback("card-2", "overridden", reason="patient-declined")]
    store.record_feedback(items)
    assert list(reversed(store.feedback())) == items


def test_jti_is_claimed_once_until_it_expires(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    expires = NOW + timedelta(minutes=5)
    assert store.claim_jti("iss-a", "jti-1", expires_at=expires, now=NOW)
    assert not store.claim_jti("iss-a", "jti-1", expires_at=expires, now=NOW + timedelta(minutes=1))
    assert store.claim_jti("iss-b", "jti-1", expires_at=expires, now=NOW)  # per issuer
    assert store.claim_jti("iss-a", "jti-1", expires_at=expires + timedelta(hours=1), now=expires + timedelta(1))


def test_feedback_report_rates_per_rule_and_version(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    for n in range(4):
        store.record_decision(decision(f"start-{n}"))
    store.record_decision(decision("stop-1", rule="stop-pop2-short-course"))
    store.record_decision(decision("start-0"))  # the same card answered twice (a retried hookInstance)
    store.record_feedback(
        [
            feedback("start-0", "overridden", reason="patient-declined"),
            feedback("start-0", "accepted", minutes=5),  # the latest feedback counts
            feedback("start-1", "overridden", reason="patient-declined"),
            feedback("start-2", "overridden", reason="other"),
            feedback("unknown-card", "accepted"),
        ]
    )
    rows = {row.rule_id: row for row in store.feedback_report()}
    start = rows["start-pop2-window"]
    assert (start.cards_shown, start.cards_with_feedback, start.accepted, start.overridden) == (4, 3, 1, 2)
    assert start.accept_rate == 0.25 and start.override_rate == 0.5
    # Each card once, with the reason of its latest feedback: start-0 was overridden, then accepted.
    assert start.top_override_reasons == (("Patient-Declined", 1), ("Other", 1))
    stop = rows["stop-pop2-short-course"]
    assert (stop.cards_shown, stop.cards_with_feedback, stop.accept_rate) == (1, 0, 0.0)
    assert rows["(unknown card)"].accepted == 1 and rows["(unknown card)"].accept_rate is None
    assert store.feedback_report(since=NOW + timedelta(days=1)) == []  # nothing shown or fed back since


def test_feedback_is_stored_once_however_often_it_is_sent(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    items = [feedback("card-1", "overridden", reason="other"), feedback("card-2", "accepted")]
    assert store.record_feedback([*items, items[0]]) == items  # a duplicate within one body too
    for _ in range(4):
        again = [replace(item, received_at=NOW + timedelta(minutes=1)) for item in items]
        assert store.record_feedback(again) == []
    assert len(store.feedback()) == 2
    changed = replace(items[0], outcome_timestamp=NOW + timedelta(minutes=2))
    assert store.record_feedback([changed]) == [changed]  # another answer about the same card is new


def test_the_latest_feedback_is_the_one_received_last_not_the_one_dated_last(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    store.record_decision(decision("card-1"))
    far_future = datetime(9999, 12, 31, tzinfo=UTC)
    store.record_feedback([replace(feedback("card-1", "overridden", reason="other"), outcome_timestamp=far_future)])
    store.record_feedback([replace(feedback("card-1", "accepted"), received_at=NOW + timedelta(minutes=1))])
    (row,) = store.feedback_report()
    assert (row.accepted, row.overridden, row.top_override_reasons) == (1, 0, ())


def test_a_card_counts_as_issued_only_to_its_endpoint_and_client(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    beside = IssuedCard("advice-card", "dose", "dose-trough")
    store.record_decision(decision("card-1", issued_cards=(IssuedCard("card-1", "decision", "start"), beside)))
    issuer = "https://ehr.test.example"
    asked = [
        replace(feedback("card-1", "accepted"), client_issuer=issuer),
        replace(feedback("advice-card", "accepted"), client_issuer=issuer),
        replace(feedback("card-1", "accepted"), client_issuer="https://other-ehr.example"),
        replace(feedback("card-1", "accepted"), client_issuer=None),
        replace(feedback("advice-card", "accepted"), client_issuer=issuer, service_id="sid-igrt-order-sign"),
        replace(feedback("never-issued", "accepted"), client_issuer=issuer),
    ]
    assert rules(store, asked) == ["start-pop2-window", "dose-trough", None, None, None, None]


def test_migration_0003_fills_the_endpoint_and_client_of_cards_issued_before_it(database_url: str) -> None:
    database = opened(database_url)
    config = database._alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text(
                "INSERT INTO decision (recorded_at, service_id, hook, hook_instance, client_issuer, patient_hmac, "
                "outcome, guideline_version, card_uuid, as_of, data_issue_count) VALUES (:at, 'sid-igrt-order-sign', "
                "'order-sign', 'hi-9', 'https://ehr.test.example', 'h', 'card', 'v', 'card-9', :day, 0)"
            ),
            {"at": NOW, "day": date(2026, 11, 20)},
        )
        connection.execute(
            text(
                "INSERT INTO issued_card (recorded_at, hook_instance, card_uuid, kind, rule_id, guideline_version) "
                "VALUES (:at, 'hi-9', 'advice-9', 'dose', 'dose-trough', 'v')"
            ),
            {"at": NOW},
        )
    database.upgrade()
    store = AuditStore(database)
    ok = replace(
        feedback("advice-9", "accepted"), service_id="sid-igrt-order-sign", client_issuer="https://ehr.test.example"
    )
    assert rules(store, [ok, replace(ok, client_issuer=None)]) == ["dose-trough", None]


def test_pseudonyms_are_keyed() -> None:
    assert Pseudonymizer(KEY).patient("p1") == Pseudonymizer(KEY).patient("p1")
    assert Pseudonymizer(KEY).patient("p1") != Pseudonymizer(b"x" * 32).patient("p1")
    with pytest.raises(ValueError):
        Pseudonymizer(b"short")


def test_database_urls_are_read_with_psycopg_3() -> None:
    assert Database("postgres://u:p@db:5432/x").url == "postgresql+psycopg://u:p@db:5432/x"
    with pytest.raises(StorageError):
        Database("not a url")


def _upgrade_in_subprocess(url: str) -> None:
    Database(url).upgrade()


def test_concurrent_upgrades_of_a_new_database_all_succeed(database_url: str) -> None:
    # gunicorn workers on a new SQLite file, or replicas starting together, migrate at the same moment: one
    # migrates, the others wait on the lock and find the schema current (before the lock: "table already exists").
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_upgrade_in_subprocess, args=(database_url,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    opened(database_url).require_current()


def rules(store: AuditStore, entries: list[FeedbackEntry]) -> list[str | None]:
    """The rule of each item's card as ``AuditStore.issued`` finds it, ``None`` for a card not issued to it."""
    return [target.rule if target is not None else None for target in store.issued(entries)]
