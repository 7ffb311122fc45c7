"""The attendance register: every entry kept, the current one per session a keyed lookup.

``marks`` is append-only: an amendment is a new row, so the register always shows the original
entry. ``current_marks`` holds, per (upn, setting_id, date, session), a copy of the entry in
force: the one with the latest ``recorded_at`` (a later arrival wins a tie).

``upsert_many`` is the hot path a sync page and the 1M-mark benchmark go through: Core
statements only, a few round trips per chunk of marks, no ORM objects.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Date,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from hub_contracts import AttendanceMark, Session

from ._sql import aware, chunked, dialect_name, table, upsert

_MARKS = table("marks")
_CURRENT = table("current_marks")
_KEY_COLUMNS = ("upn", "setting_id", "date", "session")
_CONTENT_COLUMNS = ("code", "minutes_late", "source", "source_ref", "recorded_at")
_IDENTITY_COLUMNS = (*_KEY_COLUMNS, *_CONTENT_COLUMNS)


class MarkKey(NamedTuple):
    """One learner's session at one setting: the register cell a mark fills."""

    upn: str
    setting_id: str
    date: dt.date
    session: Session

    @classmethod
    def of(cls, mark: AttendanceMark) -> MarkKey:
        return cls(mark.upn, mark.setting_id, mark.date, mark.session)


class ChangedKeys(tuple[MarkKey, ...]):
    """Cells whose current mark changed, in first-seen order — a plain tuple of `MarkKey` to
    anyone who iterates it — carrying in `current` the mark each cell now holds, as the upsert
    left it, so the rules that run next need not read those marks back."""

    current: Mapping[MarkKey, AttendanceMark]

    def __new__(cls, current: Mapping[MarkKey, AttendanceMark]) -> ChangedKeys:
        keys = super().__new__(cls, current.keys())
        keys.current = current
        return keys

    def __add__(self, other: tuple[Any, ...]) -> ChangedKeys:
        """Both, in first-seen order; for a cell in both, `other`'s (later) mark."""
        merged = dict(self.current)
        merged.update(getattr(other, "current", {}))
        return ChangedKeys(merged)


@dataclass(frozen=True)
class UpsertResult:
    """What ``upsert_many`` did with each mark it was given (the four counts sum to the input).

    ``historical``: older than the current mark and not seen before, so kept as history only.
    ``changed_keys``: cells whose current mark changed, in first-seen order (a `ChangedKeys`
    when it comes from ``upsert_many``: each cell's new current mark is on it).
    """

    inserted: int = 0
    amended: int = 0
    unchanged: int = 0
    historical: int = 0
    changed_keys: tuple[MarkKey, ...] = field(default=())

    def __add__(self, other: UpsertResult) -> UpsertResult:
        mine, theirs = self.changed_keys, other.changed_keys
        if isinstance(mine, ChangedKeys) and isinstance(theirs, ChangedKeys):
            keys: tuple[MarkKey, ...] = mine + theirs
        else:
            keys = tuple({**dict.fromkeys(mine), **dict.fromkeys(theirs)})
        return UpsertResult(
            inserted=self.inserted + other.inserted,
            amended=self.amended + other.amended,
            unchanged=self.unchanged + other.unchanged,
            historical=self.historical + other.historical,
            changed_keys=keys,
        )


@dataclass(frozen=True)
class MarkEntry:
    """One stored register entry: its id (arrival order), when the hub received it, the mark."""

    id: int
    received_at: dt.datetime
    current: bool
    mark: AttendanceMark


# What makes two entries for one cell the same entry: content, plus when the source recorded it.
_Content = tuple[str, int | None, str, str | None]
_Version = tuple[_Content, dt.datetime]


class MarkRepository:
    #: Marks per chunk: each chunk is three statements (look up, insert, point current).
    #: Measured: 1,000 → 2,000 gains ~20%; beyond that little changes.
    chunk_size = 2_000

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert_many(
        self, marks: Sequence[AttendanceMark], *, received_at: dt.datetime | None = None
    ) -> UpsertResult:
        """Record marks in order; identical re-sends are no-ops, amendments keep the original."""
        now = aware(received_at or dt.datetime.now(dt.UTC), "received_at")
        result = UpsertResult(changed_keys=ChangedKeys({}))
        for part in chunked(marks, self.chunk_size):
            result = result + await self._upsert_chunk(part, now)
        return result

    async def current(self, key: MarkKey) -> AttendanceMark | None:
        found = await self.current_for_keys([key])
        return found.get(key)

    async def current_for_keys(self, keys: Iterable[MarkKey]) -> dict[MarkKey, AttendanceMark]:
        found: dict[MarkKey, AttendanceMark] = {}
        for part in chunked(list(dict.fromkeys(keys)), self.chunk_size):
            for row in await self._current_rows(part):
                mark = _mark(row)
                found[MarkKey.of(mark)] = mark
        return found

    async def current_for_learner(
        self,
        upn: str,
        date_from: dt.date,
        date_to: dt.date,
        *,
        setting_id: str | None = None,
    ) -> list[AttendanceMark]:
        """Current marks, ordered by date, session and setting."""
        c = _CURRENT.c
        query = select(_CURRENT).where(c.upn == upn, c.date >= date_from, c.date <= date_to)
        if setting_id is not None:
            query = query.where(c.setting_id == setting_id)
        query = query.order_by(c.date, c.session, c.setting_id)
        return [_mark(row) for row in await self._session.execute(query)]

    async def codes_for_learner(
        self, upn: str, setting_id: str, date_from: dt.date, date_to: dt.date
    ) -> dict[tuple[dt.date, Session], str]:
        """The current code per (date, session) at one setting: what the continuous-absence
        rules read (`hub.rules.returns.MarksInput`), without building a mark per row."""
        c = _CURRENT.c
        query = select(c.date, c.session, c.code).where(
            c.upn == upn, c.setting_id == setting_id, c.date >= date_from, c.date <= date_to
        )
        return {
            (row.date, Session(row.session)): row.code for row in await self._session.execute(query)
        }

    async def count_codes(
        self,
        upns: Iterable[str],
        date_from: dt.date,
        date_to: dt.date,
        codes: Iterable[str],
    ) -> dict[tuple[str, str], int]:
        """How many current marks of each (learner, setting) in the date range carry one of
        `codes`; pairs with none are absent. One query per 1,000 learners."""
        c = _CURRENT.c
        wanted = sorted(set(codes))
        counts: dict[tuple[str, str], int] = {}
        for part in chunked(sorted(set(upns)), 1_000):
            query = (
                select(c.upn, c.setting_id, func.count())
                .where(
                    c.upn.in_(part),
                    c.date >= date_from,
                    c.date <= date_to,
                    c.code.in_(wanted),
                )
                .group_by(c.upn, c.setting_id)
            )
            for upn, setting_id, count in await self._session.execute(query):
                counts[(upn, setting_id)] = int(count)
        return counts

    async def current_for_setting(
        self, setting_id: str, date_from: dt.date, date_to: dt.date
    ) -> list[AttendanceMark]:
        c = _CURRENT.c
        query = (
            select(_CURRENT)
            .where(c.setting_id == setting_id, c.date >= date_from, c.date <= date_to)
            .order_by(c.date, c.session, c.upn)
        )
        return [_mark(row) for row in await self._session.execute(query)]

    async def history(self, key: MarkKey) -> list[MarkEntry]:
        """Every entry for one cell in arrival order; ``current`` flags the one in force."""
        m = _MARKS.c
        query = (
            select(_MARKS, (_CURRENT.c.mark_id.is_not(None)).label("is_current"))
            .outerjoin(_CURRENT, _CURRENT.c.mark_id == m.id)
            .where(
                m.upn == key.upn,
                m.setting_id == key.setting_id,
                m.date == key.date,
                m.session == key.session.value,
            )
            .order_by(m.id)
        )
        return [_entry(row) for row in await self._session.execute(query)]

    async def history_for_learner(
        self, upn: str, date_from: dt.date, date_to: dt.date
    ) -> dict[MarkKey, list[MarkEntry]]:
        """Every entry for a learner's cells in a date range, grouped by cell."""
        m = _MARKS.c
        query = (
            select(_MARKS, (_CURRENT.c.mark_id.is_not(None)).label("is_current"))
            .outerjoin(_CURRENT, _CURRENT.c.mark_id == m.id)
            .where(m.upn == upn, m.date >= date_from, m.date <= date_to)
            .order_by(m.date, m.session, m.setting_id, m.id)
        )
        grouped: dict[MarkKey, list[MarkEntry]] = {}
        for row in await self._session.execute(query):
            entry = _entry(row)
            grouped.setdefault(MarkKey.of(entry.mark), []).append(entry)
        return grouped

    # --- the batch path -------------------------------------------------------------------

    async def _upsert_chunk(
        self, marks: Sequence[AttendanceMark], now: dt.datetime
    ) -> UpsertResult:
        keys = [MarkKey(m.upn, m.setting_id, m.date, m.session) for m in marks]
        current: dict[MarkKey, _Version] = {}
        for row in await self._current_rows(list(dict.fromkeys(keys))):
            current[_key(row)] = (_content_of_row(row), row.recorded_at)

        # A mark no newer than the current one may re-send an entry already in history; only
        # those cells need their history read (every stored entry is no newer than the current).
        needs_history = {
            key
            for key, m in zip(keys, marks, strict=True)
            if (cur := current.get(key)) is not None
            and m.recorded_at <= cur[1]
            and (_content(m), m.recorded_at) != cur
        }
        seen = await self._versions(needs_history)
        for key, version in current.items():
            seen.setdefault(key, set()).add(version)

        new_marks: list[AttendanceMark] = []
        latest_row: dict[MarkKey, int] = {}  # cell -> index in new_marks of its new current entry
        latest: dict[MarkKey, AttendanceMark] = {}  # cell -> its new current entry
        inserted = amended = unchanged = historical = 0
        for key, mark in zip(keys, marks, strict=True):
            version = (_content(mark), mark.recorded_at)
            cur = current.get(key)
            if cur is None:
                inserted += 1
            elif version[0] == cur[0] or version in seen[key]:
                unchanged += 1
                continue
            elif mark.recorded_at < cur[1]:
                historical += 1
                seen[key].add(version)
                new_marks.append(mark)
                continue
            else:
                amended += 1
            seen.setdefault(key, set()).add(version)
            current[key] = version
            latest_row[key] = len(new_marks)
            latest[key] = mark
            new_marks.append(mark)

        ids = await self._insert_marks(new_marks, now)
        if latest_row:
            await self._point_current([ids[index] for index in latest_row.values()])
        return UpsertResult(inserted, amended, unchanged, historical, ChangedKeys(latest))

    async def _current_rows(self, keys: Sequence[MarkKey]) -> Sequence[Row[Any]]:
        if not keys:
            return []
        query = self._rows_for_keys(_CURRENT, keys)
        return (await self._session.execute(query)).all()

    async def _versions(self, keys: set[MarkKey]) -> dict[MarkKey, set[_Version]]:
        versions: dict[MarkKey, set[_Version]] = {}
        for part in chunked(sorted(keys), self.chunk_size):
            for row in await self._session.execute(self._rows_for_keys(_MARKS, part)):
                versions.setdefault(_key(row), set()).add((_content_of_row(row), row.recorded_at))
        return versions

    def _rows_for_keys(self, t: Table, keys: Sequence[MarkKey]) -> Select[Any]:
        """Rows of ``t`` for exactly these cells, found through the (upn, setting, date,
        session) index: the keys drive a join, one index probe each.

        A row-value ``IN`` list would read the whole table instead (SQLite scans; PostgreSQL
        expands it into a chain of ORs). PostgreSQL gets the keys as four arrays
        (``unnest``), SQLite as one JSON array (``json_each``).
        """
        if dialect_name(self._session) == "postgresql":
            wanted = (
                func.unnest(
                    bindparam("upns", [k.upn for k in keys], type_=ARRAY(String)),
                    bindparam("setting_ids", [k.setting_id for k in keys], type_=ARRAY(String)),
                    bindparam("dates", [k.date for k in keys], type_=ARRAY(Date)),
                    bindparam("sessions", [k.session.value for k in keys], type_=ARRAY(String)),
                )
                .table_valued(*_KEY_COLUMNS)
                .render_derived(name="wanted")
            )
            # LATERAL with OFFSET 0 keeps the subquery from being flattened into a join, so
            # each key is one index probe even before the table has statistics (a fresh
            # table otherwise gets a hash join over every row, per chunk).
            on_key = and_(*(t.c[name] == wanted.c[name] for name in _KEY_COLUMNS))
            found = select(t).where(on_key).offset(0).lateral("found")
            return select(found).select_from(wanted).join(found, true())
        # One JSON parameter rather than four per key: binding thousands of parameters
        # costs more Python time than the lookup itself.
        keys_json = json.dumps(
            [[k.upn, k.setting_id, k.date.isoformat(), k.session.value] for k in keys]
        )
        each = func.json_each(bindparam("keys", keys_json, type_=String)).table_valued("value")
        listed = select(
            *(
                func.json_extract(each.c.value, f"$[{i}]").label(name)
                for i, name in enumerate(_KEY_COLUMNS)
            )
        ).cte("wanted")
        on = and_(*(t.c[name] == listed.c[name] for name in _KEY_COLUMNS))
        return select(t).select_from(listed).join(t, on)

    async def _insert_marks(self, marks: Sequence[AttendanceMark], now: dt.datetime) -> list[int]:
        """Insert entries; returns their ids in the order given."""
        if not marks:
            return []
        if dialect_name(self._session) == "sqlite":
            return await self._insert_marks_sqlite(marks, now)
        rows = [_row_values(mark, now) for mark in marks]
        columns = [_MARKS.c[name] for name in _IDENTITY_COLUMNS]
        result = await self._session.execute(insert(_MARKS).returning(_MARKS.c.id, *columns), rows)
        return _ids_by_identity(result, rows)

    async def _insert_marks_sqlite(
        self, marks: Sequence[AttendanceMark], now: dt.datetime
    ) -> list[int]:
        """One ``executemany`` of driver-ready tuples: the hot path of a sync page.

        SQLAlchemy's per-value bind processing and ``RETURNING`` row matching cost more than
        SQLite's work here, so the values are converted with the columns' own bind processors
        (each distinct timestamp once) and the ids are not returned but known: the transaction
        holds SQLite's write lock (``BEGIN IMMEDIATE``), so each row gets the next rowid, in
        order. That is checked (the new largest id must be the old plus the row count); if it
        ever fails, the ids are read back by the entries' own columns.
        """
        conn = await self._session.connection()
        to_date = _processor(_MARKS.c.date, conn.dialect)
        to_time = _processor(_MARKS.c.recorded_at, conn.dialect)
        times: dict[dt.datetime, Any] = {}

        def stamp(value: dt.datetime) -> Any:
            found = times.get(value)
            if found is None:
                found = times[value] = to_time(value)
            return found

        received = stamp(now)
        params = [
            (
                m.upn,
                m.setting_id,
                to_date(m.date),
                m.session.value,
                m.code,
                m.minutes_late,
                m.source,
                m.source_ref,
                stamp(m.recorded_at),
                received,
            )
            for m in marks
        ]
        floor = (await conn.exec_driver_sql(_MAX_MARK_ID)).scalar() or 0
        await conn.exec_driver_sql(_INSERT_MARK, params)
        top = (await conn.exec_driver_sql(_MAX_MARK_ID)).scalar() or 0
        if top == floor + len(params):
            return list(range(floor + 1, top + 1))
        # Not the next rowids (SQLite picks random free ones once the largest is taken): find
        # the entries by their cells; an entry is never stored twice, so its columns name it.
        keys = list(dict.fromkeys(MarkKey.of(m) for m in marks))
        found = await self._session.execute(self._rows_for_keys(_MARKS, keys))
        columns = ("id", *_IDENTITY_COLUMNS)
        rows = [tuple(getattr(row, name) for name in columns) for row in found]
        return _ids_by_identity(rows, [_row_values(m, now) for m in marks])

    async def _point_current(self, mark_ids: list[int]) -> None:
        """Make these entries current for their cells, copied over inside the database."""
        if dialect_name(self._session) == "postgresql":
            chosen = _MARKS.c.id == func.any(bindparam("ids", mark_ids, type_=ARRAY(BigInteger)))
        else:
            ids = func.json_each(bindparam("ids", json.dumps(mark_ids), type_=String))
            chosen = _MARKS.c.id.in_(select(ids.table_valued("value").c.value))
        copied = (*_KEY_COLUMNS, *_CONTENT_COLUMNS)
        source = select(_MARKS.c.id, *(_MARKS.c[name] for name in copied)).where(chosen)
        stmt = upsert(self._session, _CURRENT).from_select(["mark_id", *copied], source)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(_KEY_COLUMNS),
            set_={name: stmt.excluded[name] for name in ("mark_id", *_CONTENT_COLUMNS)},
        )
        await self._session.execute(stmt)


_MAX_MARK_ID = "SELECT max(id) FROM marks"
_INSERT_MARK = (
    "INSERT INTO marks (upn, setting_id, date, session, code, minutes_late, source, "
    "source_ref, recorded_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _processor(column: Any, dialect: Any) -> Callable[[Any], Any]:
    """What SQLAlchemy itself does to a value bound to `column` on this dialect (the
    dialect's own type, e.g. SQLite's DATETIME text format, not the generic one)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same


def _same(value: Any) -> Any:
    return value


def _ids_by_identity(result: Iterable[Sequence[Any]], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Ids of `rows`, matched by the entry's own columns (unique within a chunk: a repeat is
    never inserted) rather than with ``sort_by_parameter_order``, which SQLite can only honour
    by inserting one row per statement."""
    ids = {tuple(row[1:]): row[0] for row in result}
    return [ids[tuple(row[name] for name in _IDENTITY_COLUMNS)] for row in rows]


def _content(mark: AttendanceMark) -> _Content:
    return (mark.code, mark.minutes_late, mark.source, mark.source_ref)


def _content_of_row(row: Row[Any]) -> _Content:
    return (row.code, row.minutes_late, row.source, row.source_ref)


def _key(row: Row[Any]) -> MarkKey:
    return MarkKey(row.upn, row.setting_id, row.date, Session(row.session))


def _row_values(mark: AttendanceMark, received_at: dt.datetime) -> dict[str, Any]:
    return {
        "upn": mark.upn,
        "setting_id": mark.setting_id,
        "date": mark.date,
        "session": mark.session.value,
        "code": mark.code,
        "minutes_late": mark.minutes_late,
        "source": mark.source,
        "source_ref": mark.source_ref,
        "recorded_at": mark.recorded_at,
        "received_at": received_at,
    }


def _mark(row: Row[Any]) -> AttendanceMark:
    return AttendanceMark(
        upn=row.upn,
        setting_id=row.setting_id,
        date=row.date,
        session=Session(row.session),
        code=row.code,
        minutes_late=row.minutes_late,
        source=row.source,
        source_ref=row.source_ref,
        recorded_at=row.recorded_at,
    )


def _entry(row: Row[Any]) -> MarkEntry:
    return MarkEntry(
        id=row.id, received_at=row.received_at, current=bool(row.is_current), mark=_mark(row)
    )
