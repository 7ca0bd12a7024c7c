"""The decision insert on the driver connection stores what SQLAlchemy would, all or none (SQLite, PostgreSQL)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from storage import AuditStore, Database, IssuedCard, StorageError
from storage.schema import Decision, IssuedCardRow
from tests.storage.test_storage import _dispose_engines, decision, feedback, migrated  # noqa: F401 (the fixture)

CET = timezone(timedelta(hours=1))


def _through_sqlalchemy(store: AuditStore, entry: Any) -> None:
    """The insert as it was written before (SQLAlchemy Core, ORM column types): the reference."""
    values = {f.name: getattr(entry, f.name) for f in fields(entry) if f.name != "issued_cards"}
    values["recorded_at"] = values["recorded_at"].astimezone(UTC)
    values["fetched_keys"] = ",".join(values["fetched_keys"]) or None
    values["suggestion_uuids"] = list(values["suggestion_uuids"])
    beside = [
        {
            "recorded_at": values["recorded_at"],
            "hook_instance": entry.hook_instance,
            "card_uuid": card.uuid,
            "kind": card.kind,
            "rule_id": card.rule,
            "guideline_version": entry.guideline_version,
            "service_id": entry.service_id,
            "client_issuer": entry.client_issuer,
            "suggestion_uuids": list(card.suggestions),
        }
        for card in entry.issued_cards
        if card.uuid != entry.card_uuid
    ]
    with store.database.connection() as connection:
        connection.execute(insert(Decision), [values])
        if beside:
            connection.execute(insert(IssuedCardRow), beside)


def _stored(store: AuditStore, hook_instance: str) -> tuple[list[Any], list[Any]]:
    """Every column but the id of the rows of one call, as the driver returns them (no type processing)."""
    decision_columns = [c for c in Decision.__table__.c if c.name not in ("id", "hook_instance")]
    issued_columns = [c for c in IssuedCardRow.__table__.c if c.name not in ("id", "hook_instance")]
    with store.database.engine.connect() as connection:
        decisions = connection.exec_driver_sql(
            f"SELECT {', '.join(c.name for c in decision_columns)} FROM decision "
            f"WHERE hook_instance = '{hook_instance}'"
        ).all()
        issued = connection.exec_driver_sql(
            f"SELECT {', '.join(c.name for c in issued_columns)} FROM issued_card "
            f"WHERE hook_instance = '{hook_instance}' ORDER BY card_uuid"
        ).all()
    return [tuple(r) for r in decisions], [tuple(r) for r in issued]


SHOWN = decision(
    "card-1",
    recorded_at=datetime(2026, 11, 20, 10, 30, 15, 123456, tzinfo=CET),  # a local offset: stored as UTC
    on_igrt=True,
    suggestion_uuids=("s-1", "s-2"),
    issued_cards=(
        IssuedCard("card-1", "decision", "start-pop2-window", ("s-1", "s-2")),
        IssuedCard("dose-1", "dose", "dose-scig", ("d-1",)),
        IssuedCard("mon-1", "monitoring", "monitoring-trough"),
    ),
)
QUIET = decision(None, rule=None, outcome="budget-exceeded", recommendation=None, population=None, fetched_keys=())


@pytest.mark.parametrize("entry", [SHOWN, QUIET], ids=["card-with-advice", "no-decision"])
def test_the_rows_are_those_sqlalchemy_writes(database_url: str, entry: Any) -> None:
    store = AuditStore(migrated(database_url))
    store.record_decisions([replace(entry, hook_instance="fast")])
    _through_sqlalchemy(store, replace(entry, hook_instance="reference"))
    fast, reference = _stored(store, "fast"), _stored(store, "reference")
    assert fast == reference
    assert len(fast[0]) == 1 and len(fast[1]) == len([c for c in entry.issued_cards if c.uuid != entry.card_uuid])


def test_a_batch_round_trips_in_order_with_its_cards(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    batch = [replace(SHOWN, hook_instance=f"hi-{i}", card_uuid=f"card-{i}", issued_cards=()) for i in range(5)]
    store.record_decisions([*batch, SHOWN])
    newest, *older = store.decisions()
    assert newest == replace(SHOWN, recorded_at=SHOWN.recorded_at.astimezone(UTC), issued_cards=())
    assert list(reversed(older)) == [replace(e, recorded_at=e.recorded_at.astimezone(UTC)) for e in batch]
    asked = [replace(feedback(c, "accepted"), client_issuer=SHOWN.client_issuer) for c in ("dose-1", "mon-1", "card-1")]
    targets = store.issued([*asked, replace(feedback("card-3", "accepted"), client_issuer=SHOWN.client_issuer)])
    assert [(t.rule, t.suggestions) if t else None for t in targets] == [
        ("dose-scig", frozenset({"d-1"})),
        ("monitoring-trough", frozenset()),
        ("start-pop2-window", frozenset({"s-1", "s-2"})),
        ("start-pop2-window", frozenset({"s-1", "s-2"})),
    ]


def test_a_batch_with_one_bad_row_stores_nothing(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    bad = replace(SHOWN, hook_instance="bad", hook=None)  # NOT NULL
    with pytest.raises(StorageError, match="database error: IntegrityError"):
        store.record_decisions([replace(SHOWN, hook_instance="good"), bad])
    assert store.decisions() == []
    with store.database.engine.connect() as connection:
        assert connection.execute(select(IssuedCardRow.id)).all() == []
    store.record_decisions([replace(SHOWN, hook_instance="after")])  # the connection is usable again
    assert [d.hook_instance for d in store.decisions()] == ["after"]


def test_a_naive_instant_is_refused_before_anything_is_sent(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    with pytest.raises(StorageError, match="naive datetime"):
        store.record_decisions([replace(SHOWN, recorded_at=datetime(2026, 11, 20, 10, 0))])
    assert store.decisions() == []


def test_an_unreachable_database_is_a_storage_error() -> None:
    store = AuditStore(Database("postgresql://cds:secret@127.0.0.1:1/cds"))
    with pytest.raises(StorageError, match="database error: OperationalError"):
        store.record_decisions([SHOWN])
    store.database.dispose()


def test_an_empty_batch_opens_no_connection(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    checkouts: list[object] = []
    event.listen(store.database.engine.pool, "checkout", lambda *args: checkouts.append(args))
    store.record_decisions([])
    assert checkouts == []
    store.record_decisions([SHOWN])
    assert len(checkouts) == 1  # one connection, one transaction, for the decision and its cards


def test_sqlite_keeps_its_connection_between_batches_and_gives_it_back_after_a_failure(database_url: str) -> None:
    store = AuditStore(migrated(database_url))
    checkouts: list[object] = []
    event.listen(store.database.engine.pool, "checkout", lambda *args: checkouts.append(args))
    store.record_decisions([replace(SHOWN, hook_instance="first")])
    store.record_decisions([replace(SHOWN, hook_instance="second")])
    # SQLite: the first batch's connection serves the second; PostgreSQL: one checkout (and pre-ping) per batch.
    assert len(checkouts) == (1 if store.database.is_sqlite else 2)
    with pytest.raises(StorageError, match="IntegrityError"):
        store.record_decisions([replace(SHOWN, hook_instance="bad", hook=None)])
    store.record_decisions([replace(SHOWN, hook_instance="after")])
    # After the failure the connection went back to the pool (rolled back): the next batch checked one out again.
    assert len(checkouts) == (2 if store.database.is_sqlite else 4)
    assert [d.hook_instance for d in store.decisions()] == ["after", "second", "first"]
