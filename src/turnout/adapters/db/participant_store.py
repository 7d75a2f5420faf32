"""``SqlParticipantStore``: participant queries for intake, look-ups and search (SQLAlchemy Core over the
unit of work's connection), and fast multi-row inserts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles

from turnout.adapters.db import tables as t
from turnout.adapters.db.sqlite_rows import insert_many
from turnout.domain.participants import (
    CheckInStatus,
    Participant,
    ParticipantFilter,
    ParticipantStatus,
    Source,
)
from turnout.ports import ParticipantFeedRow

P = t.participants


def participant_from_row(row: Any) -> Participant:
    return Participant(
        id=row.id,
        event_id=row.event_id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        birth_date=row.birth_date,
        region=row.region,
        organization=row.organization,
        gender=row.gender,
        locale=row.locale,
        custom_fields=dict(row.custom_fields or {}),
        status=ParticipantStatus(row.status),
        check_in_status=CheckInStatus(row.check_in_status),
        ticket_version=row.ticket_version,
        token=row.token,
        email_status=row.email_status,
        email_error=row.email_error,
        source=Source(row.source),
        import_id=row.import_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_checked_in_at=row.first_checked_in_at,
        last_scan_at=row.last_scan_at,
    )


def _chunks(items: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# a transfer's old holder keeps their place until it completes (the new holder then takes it)
_HOLDING_A_PLACE = (ParticipantStatus.REGISTERED.value, ParticipantStatus.TRANSFERRING.value)


class SqlParticipantStore:
    """``ports.ParticipantStore`` over the unit of work's connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def insert_many(self, records: list[dict[str, Any]]) -> None:
        """Multi-row insert of complete participant rows (every column given)."""
        bulk_insert(self.conn, P, records)

    def get(self, participant_id: str, *, for_update: bool = False) -> Participant | None:
        query = sa.select(P).where(P.c.id == participant_id)
        if for_update and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return participant_from_row(row) if row else None

    def get_many(self, participant_ids: Sequence[str], *, for_update: bool = False) -> dict[str, Participant]:
        found: dict[str, Participant] = {}
        for chunk in _chunks(sorted(set(participant_ids))):
            query = sa.select(P).where(P.c.id.in_(chunk)).order_by(P.c.id)
            if for_update and self.conn.dialect.name == "postgresql":
                query = query.with_for_update()
            found.update((row.id, participant_from_row(row)) for row in self.conn.execute(query))
        return found

    def count_active(self, event_id: str) -> int:
        return int(
            self.conn.execute(
                sa.select(sa.func.count())
                .select_from(P)
                .where(P.c.event_id == event_id, P.c.status.in_(_HOLDING_A_PLACE))
            ).scalar_one()
        )

    def ids_by_email(self, event_id: str, emails: Sequence[str]) -> dict[str, str]:
        """email -> participant id, for the given normalised emails (one query per 900)."""
        return self._ids_by("email", event_id, emails)

    def ids_by_phone(self, event_id: str, phones: Sequence[str]) -> dict[str, str]:
        return self._ids_by("phone", event_id, phones)

    def _ids_by(self, column: str, event_id: str, values: Sequence[str]) -> dict[str, str]:
        # plain driver SQL: compiling an IN list of 1,000 bound values costs more than the query
        found: dict[str, str] = {}
        if self.conn.dialect.name == "postgresql":
            # one index probe per value (a plain "= ANY" is planned as a scan of the event's rows
            # while an import grows the table faster than autovacuum refreshes its statistics)
            sql = (
                f"SELECT wanted.value, found.id FROM unnest(%s::text[]) AS wanted(value) "
                f"CROSS JOIN LATERAL (SELECT id FROM participants "
                f"WHERE event_id = %s AND {column} = wanted.value LIMIT 1) AS found"
            )
            found.update(dict(self.conn.exec_driver_sql(sql, (list(dict.fromkeys(values)), event_id)).all()))
            return found
        marker = "?"
        for chunk in _chunks(list(dict.fromkeys(values))):
            sql = (
                f"SELECT {column}, id FROM participants WHERE event_id = {marker} "
                f"AND {column} IN ({', '.join([marker] * len(chunk))})"
            )
            rows = self.conn.exec_driver_sql(sql, (event_id, *chunk))
            found.update(dict(rows.all()))
        return found

    def update_fields(self, participant_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(P.update().where(P.c.id == participant_id).values(**values))

    def delete(self, participant_id: str) -> None:
        self.conn.execute(P.delete().where(P.c.id == participant_id))

    def search(
        self,
        *,
        event_id: str,
        where: ParticipantFilter = ParticipantFilter(),
        after_id: str | None = None,
        limit: int = 100,
        many: bool = False,
    ) -> list[Participant]:
        order: sa.ColumnElement[Any] = P.c.id
        if where.searching and not many and self.conn.dialect.name == "postgresql":
            # the same order, but not the primary key's: PostgreSQL then starts from the search's
            # indexes (a few rows, sorted) rather than walk the event hoping for early matches
            order = P.c.id.concat("")
        query = sa.select(P).where(*event_terms(event_id, where, many=many)).order_by(order)
        if after_id:
            query = query.where(P.c.id > after_id)
        query = query.limit(limit)
        return [participant_from_row(r) for r in self.conn.execute(query)]

    def count(
        self, *, event_id: str, where: ParticipantFilter = ParticipantFilter(), up_to: int = 10_000
    ) -> int:
        found = sa.select(sa.literal(1)).select_from(P).where(*event_terms(event_id, where)).limit(up_to)
        counted = sa.select(sa.func.count()).select_from(found.subquery())
        return int(self.conn.execute(counted).scalar_one())

    # --- what external systems are told (services/feeds.py, services/gate_sync.py) -------------------

    def feed_rows(self, participant_ids: Collection[str]) -> list[ParticipantFeedRow]:
        found: list[ParticipantFeedRow] = []
        for chunk in _chunks(list(dict.fromkeys(participant_ids))):
            rows = self.conn.execute(sa.select(*_FEED_COLUMNS).where(P.c.id.in_(chunk)))
            found.extend(ParticipantFeedRow(*row) for row in rows)
        return found

    def stream_feed_rows(self, event_id: str) -> Iterator[ParticipantFeedRow]:
        query = sa.select(*_FEED_COLUMNS).where(P.c.event_id == event_id).order_by(P.c.id)
        # yield_per: a server-side cursor on PostgreSQL, fetched FEED_FETCH rows at a time
        result = self.conn.execute(query, execution_options={"yield_per": FEED_FETCH})
        try:
            for row in result:
                yield ParticipantFeedRow(*row)
        finally:
            result.close()


FEED_FETCH = 5000
_FEED_COLUMNS = (
    P.c.id,
    P.c.event_id,
    P.c.token,
    P.c.name,
    P.c.status,
    P.c.check_in_status,
    P.c.first_checked_in_at,
    P.c.last_scan_at,
    P.c.updated_at,
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- fast multi-row inserts -------------------------------------------------------------------------
#
# Imports insert 100,000s of rows. SQLAlchemy's executemany spends most of its time building and
# type-processing parameters row by row; here each column's value is converted once, by a converter
# chosen from the column's type, and the driver's executemany gets plain tuples. The stored values
# are exactly what SQLAlchemy itself would store (tests read them back through the tables).


_LAST_DATETIME: list[Any] = [None, None]


def _sqlite_datetime(value: Any) -> Any:
    if value is None:
        return None
    if value is _LAST_DATETIME[0]:  # a batch stamps every row with the same moment
        return _LAST_DATETIME[1]
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    _LAST_DATETIME[0], _LAST_DATETIME[1] = value, text
    return text


def _sqlite_date(value: Any) -> Any:
    return None if value is None else value.isoformat()


def json_text(value: Any) -> str:
    """``value`` as the compact JSON text stored in JSON columns."""
    return orjson.dumps(value).decode()


def _json_text(value: Any) -> Any:
    return None if value is None else orjson.dumps(value).decode()


def _converters(conn: sa.Connection, table: sa.Table, columns: Sequence[str]) -> list[Any]:
    from turnout.adapters.db.types import UTCDateTime

    postgres = conn.dialect.name == "postgresql"
    out: list[Any] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, UTCDateTime):
            out.append(None if postgres else _sqlite_datetime)
        elif isinstance(column_type, sa.JSON):
            if postgres:
                from psycopg.types.json import Jsonb

                out.append(lambda v: None if v is None else Jsonb(v, dumps=_json_text))
            else:
                out.append(_json_text)
        elif isinstance(column_type, sa.Date) and not postgres:
            out.append(_sqlite_date)
        else:
            out.append(None)
    return out


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT INTO table`` many rows (every row has the same keys) straight through the driver."""
    if not rows:
        return
    columns = list(rows[0])
    converters = _converters(conn, table, columns)
    marker = "%s" if conn.dialect.name == "postgresql" else "?"
    names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([marker] * len(columns))})"
    plain = [i for i, c in enumerate(converters) if c is None]
    if len(plain) == len(columns):
        params = [tuple(row.values()) for row in rows]
    else:
        params = []
        for row in rows:
            values = list(row.values())
            for index, convert in enumerate(converters):
                if convert is not None:
                    values[index] = convert(values[index])
            params.append(tuple(values))
    if conn.dialect.name == "sqlite":
        insert_many(conn, table.name, columns, params)
        return
    conn.exec_driver_sql(sql, params)


def json_for(conn: sa.Connection) -> Any:
    """The function that turns a JSON value into what the driver stores for a JSON column."""
    if conn.dialect.name == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda v: None if v is None else Jsonb(v, dumps=_json_text)
    return _json_text


def _same(text: str) -> str:
    return text


def json_text_for(conn: sa.Connection) -> Any:
    """Like ``json_for``, for a value that is already JSON text (serialised once, reused per row)."""
    if conn.dialect.name == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda text: Jsonb(text, dumps=_same)
    return _same


def db_datetime(conn: sa.Connection, value: Any) -> Any:
    """An aware datetime as the driver stores it for a ``UTCDateTime`` column."""
    return _sqlite_datetime(value) if conn.dialect.name == "sqlite" else value


def insert_tuples(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``INSERT INTO table (columns)`` rows already converted for the driver (see ``json_for``)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        insert_many(conn, table.name, columns, rows)
        return
    names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
    # PostgreSQL: COPY, in this transaction (executemany would be a round trip a row)
    raw: Any = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - a connection always has one here
        raise RuntimeError("no DBAPI connection")
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def event_terms(
    event_id: str, where: ParticipantFilter, *, many: bool = False
) -> list[sa.ColumnElement[bool]]:
    """``filter_terms`` of ``event_id``'s participants, with the event's own term written so that each
    database starts from the search's index when there is a search (see ``EventIs``); ``many``: the
    search matches many (a page is then found sooner reading the event in order)."""
    return [
        EventIs(event_id, where.searching and not many and not _narrow(where)),
        *filter_terms(where, many=many),
    ]


def _narrow(where: ParticipantFilter) -> bool:
    """The filter keeps a few of the event (cancelled, inside, exited: usually a minority): its own
    index, read in order, finds a page sooner than the search's index (SQLite)."""
    return where.status == "cancelled" or where.check_in in ("inside", "exited")


class EventIs(sa.ColumnElement[bool]):
    """``participants.event_id = :event_id``. On SQLite, beside a search, as ``+participants.event_id``:
    the planner then reads the search's indexes (FTS5, the phone's digits) and checks the event on
    the few rows found, instead of walking every row of the event (it has no statistics to know)."""

    inherit_cache = False
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a condition as it is (never rendered as ``(…) = 1``)

    def __init__(self, event_id: str, searching: bool) -> None:
        self.event_id = event_id
        self.searching = searching


@compiles(EventIs)
def _event_is(element: EventIs, compiler: Any, **kw: Any) -> str:
    return "(" + str(compiler.process(P.c.event_id == element.event_id, **kw)) + ")"


@compiles(EventIs, "sqlite")
def _event_is_sqlite(element: EventIs, compiler: Any, **kw: Any) -> str:
    column = sa.literal_column("+participants.event_id") if element.searching else P.c.event_id
    return "(" + str(compiler.process(column == element.event_id, **kw)) + ")"


def filter_terms(where: ParticipantFilter, *, many: bool = False) -> list[sa.ColumnElement[bool]]:
    """The ``WHERE`` terms of a participant list's filter (the list, its search and its export).

    Every term is answered by an index (migration 0024): a text query by the trigram indexes (3
    characters or more: contained in the name, any case, or in the email), or by the short-gram
    indexes (2 characters: contained; 1 character: at the start of the name or the email); four
    digits by the index on the phone's last four digits; a whole number by ``(event_id, phone)``."""
    terms: list[sa.ColumnElement[bool]] = []
    if where.status:
        terms.append(P.c.status == where.status)
    if where.check_in:
        terms.append(P.c.check_in_status == where.check_in)
    if where.searching:
        matches: list[sa.ColumnElement[bool]] = []
        text = searchable(where.q)
        if text:
            matches.append(TextMatch(text, many=many))
        if where.phone_suffix:
            matches.append(PhoneSuffix(where.phone_suffix))
        if where.phone_exact:
            matches.append(PhoneIs(where.phone_exact))
        terms.append(sa.or_(*matches) if matches else sa.false())
    return terms


def searchable(q: str | None) -> str:
    """The query as matched: without control characters (the index's marks are some)."""
    return "".join(ch for ch in (q or "") if ch >= " " and ch != "\x7f")


#: the marks around each indexed text (migration 0024)
START, END = "\x01", "\x02"


class TextMatch(sa.ColumnElement[bool]):
    """``q`` in the name (any case) or the email, as the dialect's index answers it (see
    ``filter_terms``). Compiled per dialect; statements holding one are not cached (the terms are
    built at compile time)."""

    inherit_cache = False
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a condition as it is (never rendered as ``(…) = 1``)

    def __init__(self, text: str, *, many: bool = False) -> None:
        self.text = text
        self.many = many  # matches many: read the event in order, no search index (PostgreSQL)

    def plain(self) -> sa.ColumnElement[bool]:
        """The match without an index (the rule itself; every dialect's form is checked against it)."""
        if len(self.text) == 1:
            return sa.or_(
                P.c.name.ilike(_escape_like(self.text) + "%", escape="\\"),
                P.c.email.like(_escape_like(self.text.lower()) + "%", escape="\\"),
            )
        return sa.or_(
            P.c.name.ilike("%" + _escape_like(self.text) + "%", escape="\\"),
            P.c.email.like("%" + _escape_like(self.text.lower()) + "%", escape="\\"),
        )


@compiles(TextMatch)
def _text_match(element: TextMatch, compiler: Any, **kw: Any) -> str:
    return "(" + str(compiler.process(element.plain(), **kw)) + ")"


@compiles(TextMatch, "postgresql")
def _text_match_postgres(element: TextMatch, compiler: Any, **kw: Any) -> str:
    if element.many:  # "IS TRUE" is no index's operator: the planner reads the event in id order
        return "((" + str(compiler.process(element.plain(), **kw)) + ") IS TRUE)"
    if len(element.text) >= 3:  # the trigram indexes answer ILIKE / LIKE '%q%' themselves
        return "(" + str(compiler.process(element.plain(), **kw)) + ")"
    gram = element.text.lower() if len(element.text) == 2 else START + element.text.lower()
    grams = sa.func.turnout_short_grams(P.c.name, P.c.email, type_=postgresql.ARRAY(sa.Text))
    probe = grams.op("@>")(sa.literal([gram], postgresql.ARRAY(sa.Text)))
    # the check of what the short grams found, in a form the trigram indexes do not take (a
    # prefix or a 2-character pattern is a poor trigram probe)
    check = "((" + str(compiler.process(element.plain(), **kw)) + ") IS TRUE)"
    return "(" + str(compiler.process(probe, **kw)) + " AND " + check + ")"


_ROWID: sa.ColumnClause[Any] = sa.literal_column("participants.rowid")


@compiles(TextMatch, "sqlite")
def _text_match_sqlite(element: TextMatch, compiler: Any, **kw: Any) -> str:
    text = element.text.lower()
    found: sa.Select[Any]
    if len(text) >= 3:
        phrase = '"' + element.text.replace('"', '""') + '"'
        found = sa.select(sa.literal_column("rowid")).select_from(sa.table("participant_search"))
        found = found.where(sa.literal_column("participant_search").op("MATCH")(phrase))
    else:
        # the trigrams that start with the query (padded: a 2-character text is found even alone;
        # one character: at a text's start), straight from the index's vocabulary
        low = text if len(text) == 2 else START + text
        terms = sa.table("participant_search_terms", sa.column("term"), sa.column("doc"))
        found = sa.select(terms.c.doc).where(terms.c.term >= low, terms.c.term < low + "\U0010ffff")
    return "(" + str(compiler.process(sa.and_(_ROWID.in_(found), element.plain()), **kw)) + ")"


class PhoneSuffix(sa.ColumnElement[bool]):
    """The phone's last four digits are ``digits`` (an expression index on both dialects)."""

    inherit_cache = False
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a condition as it is (never rendered as ``(…) = 1``)

    def __init__(self, digits: str) -> None:
        self.digits = "".join(ch for ch in digits if ch.isdigit())


@compiles(PhoneSuffix)
def _phone_suffix(element: PhoneSuffix, compiler: Any, **kw: Any) -> str:
    return (
        "("
        + str(compiler.process(P.c.phone.like("%" + _escape_like(element.digits), escape="\\"), **kw))
        + ")"
    )


# the length is written into the SQL (a bound one would not be the indexed expression)
@compiles(PhoneSuffix, "postgresql")
def _phone_suffix_postgres(element: PhoneSuffix, compiler: Any, **kw: Any) -> str:
    length: sa.ColumnClause[Any] = sa.literal_column(str(len(element.digits)))
    return "(" + str(compiler.process(sa.func.right(P.c.phone, length) == element.digits, **kw)) + ")"


@compiles(PhoneSuffix, "sqlite")
def _phone_suffix_sqlite(element: PhoneSuffix, compiler: Any, **kw: Any) -> str:
    length: sa.ColumnClause[Any] = sa.literal_column(str(-len(element.digits)))
    return "(" + str(compiler.process(sa.func.substr(P.c.phone, length) == element.digits, **kw)) + ")"


class PhoneIs(sa.ColumnElement[bool]):
    """The phone is ``phone`` (E.164): ``(event_id, phone)``; on SQLite, where a search's event term
    is not indexed (``EventIs``), through the index on the last four digits."""

    inherit_cache = False
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a condition as it is (never rendered as ``(…) = 1``)

    def __init__(self, phone: str) -> None:
        self.phone = phone


@compiles(PhoneIs)
def _phone_is(element: PhoneIs, compiler: Any, **kw: Any) -> str:
    return "(" + str(compiler.process(P.c.phone == element.phone, **kw)) + ")"


@compiles(PhoneIs, "sqlite")
def _phone_is_sqlite(element: PhoneIs, compiler: Any, **kw: Any) -> str:
    digits = sa.func.substr(P.c.phone, sa.literal_column("-4")) == element.phone[-4:]
    return "(" + str(compiler.process(sa.and_(digits, P.c.phone == element.phone), **kw)) + ")"
