"""A member's ledger as operations resume it: from stored state, never from a replay.

:class:`StoredPast` answers a resumed :class:`~egards.loyalty.ledger.Ledger` (see
:class:`~egards.loyalty.ledger.Past`) with one indexed read per question, or from what a bulk
path read beforehand for a whole chunk of members. The rest of the module says what the
stored state is (buckets, allocations, cap usage) in terms of the ledger, so that writing it
and verifying it against a replay (:func:`expected_state`) use one definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.bulk import among
from egards.i18n import N_
from egards.loyalty import codec, domain
from egards.loyalty.errors import UnknownReference
from egards.loyalty.ledger import Account, AccountKind, Entry, EntryState, Ledger
from egards.loyalty.models import Activity, Bucket, CapUsage
from egards.loyalty.models import Entry as EntryRow
from egards.loyalty.programme import CODE, Cap, Programme

# What a stored entry is rebuilt from: the ledger's entry, and the operation that wrote it (its
# arguments, or for a plain post, most entries, the entry's own columns).
ENTRY_COLUMNS = (
    EntryRow.member_id,
    EntryRow.seq,
    EntryRow.op,
    EntryRow.args,
    EntryRow.key,
    EntryRow.debit,
    EntryRow.credit,
    EntryRow.currency,
    EntryRow.amount,
    EntryRow.on,
    EntryRow.kind,
    EntryRow.state,
    EntryRow.rule_id,
    EntryRow.reverses,
    EntryRow.resolves,
    EntryRow.expires_on,
    EntryRow.memo,
    EntryRow.allocations,
)

ACTIVITY_ENTRY_KEY = re.compile(f":(?:{CODE}|[0-9]+)$")
"""The end of the key of an entry an activity posted, after the activity's key: a rule id
(``programme.Code``) or the seq of the entry a refund reverses, neither holding a colon (a
regular expression PostgreSQL and Python read alike)."""


def account(kind: str, currency: str, member_id: int) -> Account:
    if kind == AccountKind.MEMBER:
        return Account.of_member(str(member_id), currency)
    return Account.of_programme(AccountKind(kind), currency)


def ledger_entry(row: Any) -> Entry:
    """A stored entry (a row of :data:`ENTRY_COLUMNS`) as the ledger holds it."""
    debit = account(row.debit, row.currency, row.member_id)
    credit = account(row.credit, row.currency, row.member_id)
    allocations = tuple(domain.Allocation(str(b), a) for b, a in row.allocations or ())
    return Entry(
        id=row.seq,
        key=row.key,
        debit=debit,
        credit=credit,
        amount=row.amount,
        on=row.on,
        kind=row.kind,
        state=EntryState(row.state),
        rule_id=row.rule_id,
        reverses=row.reverses,
        resolves=row.resolves,
        expires_on=row.expires_on,
        taken=allocations if debit.is_member else (),
        restored=allocations if credit.is_member else (),
        memo=row.memo,
    )


def request(row: Any) -> tuple[Any, ...]:
    """What a stored entry's idempotency key stands for (see :meth:`Ledger.request`)."""
    if row.args is None:  # a plain post: rebuilt from the entry's columns
        return Ledger.request(
            "post",
            debit=account(row.debit, row.currency, row.member_id),
            credit=account(row.credit, row.currency, row.member_id),
            amount=row.amount,
            on=row.on,
            kind=row.kind,
            pending=row.state == EntryState.PENDING,
            rule_id=row.rule_id,
            expires_on=row.expires_on,
            memo=row.memo,
        )
    return Ledger.request(row.op, **{k: codec.decode(v) for k, v in row.args.items()})


def allocations(entry: Entry) -> list[list[int]] | None:
    """What an entry's ``allocations`` column holds: the buckets a member debit took or a
    member credit gave back."""
    taken = entry.taken or entry.restored
    return [[int(a.bucket_id), a.amount] for a in taken] if taken else None


class StoredPast:
    """One member's stored ledger, for a resumed :class:`Ledger`.

    With a ``session``, each question is one indexed read. Without one (a bulk path, whose
    connection is busy writing the previous chunk), the answers are what was read beforehand:
    ``entries`` by id, ``reversals`` by reversed id, ``buckets`` by currency; keys are known to
    be new (the bulk path takes activities whose keys are new), but for the member's entries
    without an activity that it read beforehand because their keys have an activity entry's
    shape (``keys``, see :data:`ACTIVITY_ENTRY_KEY`).

    Keys are unique in the database only among the entries without an activity (migration
    0034); an entry an activity posted is found through its activity (:meth:`written`), which
    needs the member's ``programme``.
    """

    def __init__(
        self,
        member_id: int,
        session: Session | None = None,
        *,
        programme: str | None = None,
        entries: Mapping[int, Entry] | None = None,
        reversals: Mapping[int, int] | None = None,
        buckets: Mapping[str, Iterable[domain.Bucket]] | None = None,
        keys: Mapping[str, Any] | None = None,
    ) -> None:
        self.member_id = member_id
        self.session = session
        self.programme = programme
        self.entries = dict(entries or {})
        self.reversals = dict(reversals or {})
        self.stored_buckets = buckets or {}
        # Stored entries without an activity by key (None: unused), prefetched or read
        # beforehand (``keys``, rows of ENTRY_COLUMNS).
        self._keys: dict[str, Any] = dict(keys or {})
        self._applying: set[str] = set()  # keys of activities applied now, not stored before

    def entry(self, entry_id: int) -> Entry:
        found = self.entries.get(entry_id)
        if found is None and self.session is not None:
            row = self._row(EntryRow.seq == entry_id)
            if row is not None:
                found = self.entries[entry_id] = ledger_entry(row)
        if found is None:
            raise UnknownReference(
                N_("no ledger entry {entry_id}"), entry_id=entry_id, entry=entry_id
            )
        return found

    def written(self, key: str) -> tuple[tuple[Any, ...], Entry] | None:
        """The stored entry without an activity that used ``key`` (through the partial
        unique index), else the one a stored activity posted under it (see
        :meth:`_activity_entry`)."""
        if key in self._keys:
            row = self._keys[key]
        elif self.session is None:
            return None
        else:
            row = self._row(EntryRow.key == key, EntryRow.activity_id.is_(None))
        if row is None and self.session is not None:
            row = self._activity_entry(key)
        return None if row is None else (request(row), ledger_entry(row))

    def applying(self, activity_key: str) -> None:
        """An activity about to be applied, whose row is not stored yet: no stored entry is
        keyed after it, so :meth:`written` looks only among the entries without one."""
        self._applying.add(activity_key)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Find out with one read which of these keys stored entries without an activity
        used (the next :meth:`written` of each asks nothing more of them)."""
        keys = sorted(set(keys) - self._keys.keys())
        if self.session is None or not keys:
            return
        found = {
            row.key: row
            for row in self.session.execute(
                select(*ENTRY_COLUMNS).where(
                    EntryRow.member_id == self.member_id,
                    EntryRow.key.in_(keys),
                    EntryRow.activity_id.is_(None),
                )
            )
        }
        self._keys.update({key: found.get(key) for key in keys})

    def resolution(self, entry_id: int) -> int | None:
        return self._seq_where(EntryRow.resolves == entry_id)

    def reversal(self, entry_id: int) -> int | None:
        if entry_id in self.reversals or self.session is None:
            return self.reversals.get(entry_id)
        return self._seq_where(EntryRow.reverses == entry_id)

    def buckets(self, of: Account) -> Iterable[domain.Bucket]:
        if self.session is None:
            return self.stored_buckets.get(of.currency, ())
        rows = self.session.execute(
            select(Bucket.seq, Bucket.earned_on, Bucket.expires_on, Bucket.amount).where(
                Bucket.member_id == self.member_id, Bucket.currency == of.currency
            )
        )
        return [
            domain.Bucket(str(seq), earned_on, expires_on, amount)
            for seq, earned_on, expires_on, amount in rows
        ]

    def _activity_entry(self, key: str) -> Any:
        """The entry a stored activity of the member posted under ``key``, if any.

        An activity's entries are keyed "{activity key}:{rule id}" (earnings) or "{activity
        key}:{seq}" (a refund's reversals), and neither a rule id nor a seq holds a colon:
        a key names at most one activity, the part before its last colon. Only a key of that
        shape is looked up (the activity by its unique (programme, key), then its entry), so
        a write whose key has another shape, or an activity's own keys, read nothing more;
        the entry is read through the primary key's range of the member (its reversal
        through the reversed entry), a cost paid only when a write reuses an activity's key.
        """
        activity_key, _, suffix = key.rpartition(":")
        if (
            not activity_key
            or activity_key in self._applying
            or self.programme is None
            or not ACTIVITY_ENTRY_KEY.search(key)
        ):
            return None
        assert self.session is not None
        activity_id = self.session.scalar(
            select(Activity.id).where(
                Activity.programme == self.programme,
                Activity.key == activity_key,
                Activity.member_id == self.member_id,
            )
        )
        if activity_id is None:
            return None
        found = [EntryRow.key == key, EntryRow.activity_id == activity_id]
        if suffix.isdigit():  # a refund's reversal of entry ``suffix``
            found.append(EntryRow.reverses == int(suffix))
        return self._row(*found)

    def _row(self, *conditions: Any) -> Any:
        assert self.session is not None
        return self.session.execute(
            select(*ENTRY_COLUMNS).where(EntryRow.member_id == self.member_id, *conditions)
        ).first()

    def _seq_where(self, condition: Any) -> int | None:
        if self.session is None:
            return None
        return self.session.scalar(
            select(EntryRow.seq).where(EntryRow.member_id == self.member_id, condition)
        )


# --- caps ------------------------------------------------------------------------------------


def capped_rules(programme: Programme) -> dict[str, Cap]:
    """The rules and promotions with a cap per period, by id."""
    return {
        rule.id: rule.cap
        for rule in [*programme.earning, *programme.promotions]
        if rule.cap is not None and rule.cap.per_period and rule.cap.period
    }


def count_caps(programme: Programme, usage: Usage, entry: Entry, ledger: Ledger) -> None:
    """Count an appended entry in ``usage`` (by rule id, then first day of the cap's window):
    an earning under a capped rule adds to its window; the reversal of one takes it back (a
    reversed earning no longer counts)."""
    cap = capped_rules(programme).get(entry.rule_id or "")
    if cap is None:
        return
    if entry.kind == "earn":
        earned_on, amount = entry.on, entry.amount
    elif entry.kind == "reversal" and entry.reverses is not None:
        original = ledger.entry(entry.reverses)
        if original.kind != "earn":
            return
        earned_on, amount = original.on, -original.amount
    else:
        return
    window = domain.cap_window(cap, earned_on)
    assert window is not None
    by_window = usage.setdefault(entry.rule_id or "", {})
    first = window[0].isoformat()
    by_window[first] = by_window.get(first, 0) + amount
    if not by_window[first]:
        del by_window[first]
        if not by_window:
            del usage[entry.rule_id or ""]


Usage = dict[str, dict[str, int]]
"""Earned under capped rules: by rule id, then first day (ISO) of the cap's window."""


def read_usage(session: Session, member_ids: Iterable[int]) -> dict[int, Usage]:
    """The members' stored cap usage."""
    found: dict[int, Usage] = {}
    rows = session.execute(
        select(CapUsage.member_id, CapUsage.rule_id, CapUsage.window_start, CapUsage.amount).where(
            among(session, CapUsage.member_id, member_ids)
        )
    ).all()
    for member_id, rule_id, window_start, amount in rows:
        found.setdefault(member_id, {}).setdefault(rule_id, {})[window_start.isoformat()] = amount
    return found


def usage_changes(
    member_id: int, before: Usage, after: Usage
) -> tuple[list[tuple[int, str, date]], list[dict[str, Any]]]:
    """The stored usage rows to delete (changed or gone), then the rows to insert."""
    deleted: list[tuple[int, str, date]] = []
    rows: list[dict[str, Any]] = []
    for rule_id in before.keys() | after.keys():
        was, now = before.get(rule_id, {}), after.get(rule_id, {})
        for first in was.keys() | now.keys():
            if was.get(first) == now.get(first):
                continue
            window_start = date.fromisoformat(first)
            if first in was:
                deleted.append((member_id, rule_id, window_start))
            if now.get(first):
                rows.append(
                    {
                        "member_id": member_id,
                        "rule_id": rule_id,
                        "window_start": window_start,
                        "amount": now[first],
                    }
                )
    return deleted, rows


def used_in_window(usage: Mapping[str, Mapping[str, int]], rule_id: str, cap: Cap, on: date) -> int:
    window = domain.cap_window(cap, on)
    assert window is not None
    return usage.get(rule_id, {}).get(window[0].isoformat(), 0)


# --- the stored state a ledger implies ---------------------------------------------------


@dataclass(frozen=True)
class State:
    """What is stored beside a member's ledger, as the ledger says it should be."""

    entries: int
    balances: dict[str, tuple[int, int, int]]  # currency: balance, available, pending credits
    buckets: dict[int, tuple[str, date, date | None, int]]  # seq: currency, dates, amount
    allocations: dict[int, list[list[int]] | None]  # by seq
    cap_usage: Usage


def expected_state(programme: Programme, member_id: int, ledger: Ledger) -> State:
    """The stored state of a member whose whole ledger is ``ledger`` (a replay)."""
    balances = {}
    buckets = {}
    for currency in programme.currencies:
        of = Account.of_member(str(member_id), currency.code)
        balances[currency.code] = (
            ledger.balance(of),
            ledger.available(of),
            ledger.pending_credits(of),
        )
        for bucket in ledger.buckets(of):
            buckets[int(bucket.id)] = (
                currency.code,
                bucket.earned_on,
                bucket.expires_on,
                bucket.amount,
            )
    # Cap usage by its definition (not by count_caps, which keeps it entry by entry): the
    # earnings under a capped rule, by window, that no entry reverses.
    caps = capped_rules(programme)
    reversed_ids = {entry.reverses for entry in ledger.entries if entry.reverses is not None}
    usage: Usage = {}
    for entry in ledger.entries:
        cap = caps.get(entry.rule_id or "")
        if cap is None or entry.kind != "earn" or entry.id in reversed_ids:
            continue
        window = domain.cap_window(cap, entry.on)
        assert window is not None
        by_window = usage.setdefault(entry.rule_id or "", {})
        by_window[window[0].isoformat()] = by_window.get(window[0].isoformat(), 0) + entry.amount
    return State(
        entries=len(ledger),
        balances=balances,
        buckets=buckets,
        allocations={entry.id: allocations(entry) for entry in ledger.entries},
        cap_usage=usage,
    )


def bucket_changes(
    member_id: int, ledger: Ledger, stored_before: int
) -> tuple[list[int], list[dict[str, Any]]]:
    """What a resumed ledger changed in its member's stored buckets: the seqs of stored
    buckets to delete, then the rows to insert (changed buckets again, and new ones that hold
    points)."""
    deleted: list[int] = []
    rows: list[dict[str, Any]] = []
    for of, touched in ledger.touched_buckets().items():
        for bucket in touched:
            seq = int(bucket.id)
            if seq <= stored_before:
                deleted.append(seq)
            if bucket.amount:
                rows.append(
                    {
                        "member_id": member_id,
                        "seq": seq,
                        "currency": of.currency,
                        "earned_on": bucket.earned_on,
                        "expires_on": bucket.expires_on,
                        "amount": bucket.amount,
                    }
                )
    return deleted, rows
