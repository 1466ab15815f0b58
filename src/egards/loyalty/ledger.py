"""An in-memory, append-only, double-entry points ledger: the executable specification of the
database ledger, and the model the property tests drive.

Rules it states (the database ledger must hold the same):

* Every entry moves a positive integer amount of one currency from a debit account to a credit
  account, so the books always balance; an account's balance is the sum of its entries
  (credits minus debits: member accounts are credit-normal, programme accounts mirror them).
* Entries are never changed or deleted. A correction is a new entry that ``reverses`` the
  original (once); a pending entry (points earned but not confirmed, or a hold for a
  redemption) is resolved by a later settle or void entry that points to it.
* A member account never goes below zero: a debit, including a hold, must fit in the
  *available* balance (posted balance minus pending debits). Pending credits are not spendable.
* Every write carries an idempotency key: the same key with the same content returns the first
  result and changes nothing; the same key with different content is an error.
* Spendable points sit in buckets (one per crediting entry, with its expiry date); debits take
  soonest-expiring first and record which buckets they took (:class:`Allocation`), so a
  cancelled redemption gives the points back with their original expiry, and an earning
  reversal takes back its own bucket first.

A ledger is either built from nothing (the property tests, a replay) or resumed from stored
state (:meth:`Ledger.resume`): the member accounts' totals and the number of entries so far,
and a :class:`Past` it asks, one question at a time, for the few stored facts an operation
needs (an entry by id, a key already used, whether an entry was resolved or reversed, an
account's buckets, which it loads only when a debit or a give-back needs them). A resumed
ledger's cost is that of the operation, not of the history; it holds the entries appended
since it was resumed, and the programme accounts' totals since then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

from egards.errors import N_
from egards.loyalty.domain import Allocation, Bucket, consume_fifo, fifo_order
from egards.loyalty.errors import (
    EntryStateConflict,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidPosting,
    UnknownReference,
)
from egards.messages import plural_message


class AccountKind(StrEnum):
    MEMBER = "member"
    ISSUANCE = "issuance"
    REDEMPTION = "redemption"
    EXPIRY = "expiry"
    GOODWILL = "goodwill"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True, order=True)
class Account:
    """A member's account in one currency, or one of the programme's accounts in a currency."""

    kind: AccountKind
    currency: str
    member: str | None = None

    @classmethod
    def of_member(cls, member: str, currency: str) -> Account:
        return cls(AccountKind.MEMBER, currency, member)

    @classmethod
    def of_programme(cls, kind: AccountKind, currency: str) -> Account:
        if kind is AccountKind.MEMBER:
            raise InvalidPosting(N_("a programme account cannot be a member account"))
        return cls(kind, currency)

    @property
    def is_member(self) -> bool:
        return self.kind is AccountKind.MEMBER


class EntryState(StrEnum):
    POSTED = "posted"  # moves the posted balances
    PENDING = "pending"  # reserved until a settle or void entry resolves it
    VOIDED = "voided"  # the record of a void: moves nothing, releases the pending entry


@dataclass(frozen=True)
class Entry:
    id: int
    key: str
    debit: Account
    credit: Account
    amount: int
    on: date
    kind: str
    state: EntryState
    rule_id: str | None = None
    reverses: int | None = None
    resolves: int | None = None  # for settle and void entries: the pending entry
    expires_on: date | None = None  # for entries that open a bucket on a member account
    taken: tuple[Allocation, ...] = ()  # buckets a member debit took
    restored: tuple[Allocation, ...] = ()  # buckets a member credit gave back
    memo: str = ""

    @property
    def currency(self) -> str:
        return self.debit.currency

    @property
    def opens_bucket(self) -> bool:
        return self.credit.is_member and self.state is EntryState.POSTED and not self.restored


class Past(Protocol):
    """The stored part of a resumed ledger, asked only what an operation needs."""

    def entry(self, entry_id: int) -> Entry:
        """A stored entry (:class:`UnknownReference` if there is none)."""
        ...

    def written(self, key: str) -> tuple[tuple[Any, ...], Entry] | None:
        """The stored entry a key wrote and what the key stands for (see
        :meth:`Ledger.request`), if the key is used."""
        ...

    def resolution(self, entry_id: int) -> int | None:
        """The stored settle or void entry of a pending entry, if any."""
        ...

    def reversal(self, entry_id: int) -> int | None:
        """The stored entry reversing an entry, if any."""
        ...

    def buckets(self, account: Account, /) -> Iterable[Bucket]:
        """A member account's stored buckets that still hold points."""
        ...


# Each write's arguments in the order of its signature, the key aside, with their defaults
# (``...``: required); see Ledger.request.
_ARGUMENTS: dict[str, tuple[tuple[str, Any], ...]] = {
    "post": (
        ("debit", ...),
        ("credit", ...),
        ("amount", ...),
        ("on", ...),
        ("kind", ...),
        ("pending", False),
        ("rule_id", None),
        ("expires_on", None),
        ("memo", ""),
    ),
    "settle": (("pending_id", ...), ("on", ...), ("amount", None)),
    "void": (("pending_id", ...), ("on", ...)),
    "reverse": (("entry_id", ...), ("on", ...), ("memo", "")),
    "expire": (("account", ...), ("on", ...)),
    "expire_balance": (("account", ...), ("on", ...)),
    "expire_allocations": (("account", ...), ("on", ...), ("due", ...)),
}

Totals = tuple[int, int, int]
"""An account's posted balance, pending debits and pending credits."""


class Ledger:
    """The ledger of one programme, in memory. Methods take keyword arguments, as services do."""

    def __init__(self) -> None:
        self._past: Past | None = None
        self._start = 0  # entries stored before the ledger was resumed
        self._loaded: set[Account] = set()  # accounts whose stored buckets are loaded
        self._touched: dict[Account, set[str]] = {}  # buckets changed since then
        self._entries: list[Entry] = []
        self._by_key: dict[str, tuple[tuple[Any, ...], Entry | None]] = {}
        self._resolved: dict[int, int] = {}  # pending entry id -> settle/void entry id
        self._reversed: dict[int, int] = {}  # entry id -> reversing entry id
        # Maintained totals; the property tests check them against the sum of entries.
        self._posted: dict[Account, int] = {}
        self._pending_debits: dict[Account, int] = {}
        self._pending_credits: dict[Account, int] = {}
        self._buckets: dict[Account, dict[str, Bucket]] = {}

    @classmethod
    def resume(cls, past: Past, *, length: int, totals: Mapping[Account, Totals]) -> Ledger:
        """A ledger that goes on from stored state: ``length`` entries so far, and the member
        accounts' ``totals``; ``past`` answers for the stored entries and buckets."""
        ledger = cls()
        ledger._past, ledger._start = past, length
        for account, (posted, pending_debits, pending_credits) in totals.items():
            ledger._posted[account] = posted
            ledger._pending_debits[account] = pending_debits
            ledger._pending_credits[account] = pending_credits
        return ledger

    @staticmethod
    def request(op: str, **arguments: Any) -> tuple[Any, ...]:
        """What an idempotency key stands for: the operation and its arguments (defaults
        filled in, sequences as tuples), the key aside."""
        values = (arguments.get(name, default) for name, default in _ARGUMENTS[op])
        return (op, *(tuple(v) if isinstance(v, list) else v for v in values))

    # --- reading ------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The entries held in memory: all of them, or those appended since the resume."""
        return tuple(self._entries)

    def since(self, length: int) -> tuple[Entry, ...]:
        """The entries appended after the ledger held ``length`` of them."""
        return tuple(self._entries[length - self._start :])

    def __len__(self) -> int:
        """The number of entries (without copying them, as :attr:`entries` does)."""
        return self._start + len(self._entries)

    def entry(self, entry_id: int) -> Entry:
        if self._past is not None and 1 <= entry_id <= self._start:
            return self._past.entry(entry_id)
        if not 1 <= entry_id - self._start <= len(self._entries):
            raise UnknownReference(
                N_("no ledger entry {entry_id}"), entry_id=entry_id, entry=entry_id
            )
        return self._entries[entry_id - self._start - 1]

    def has_key(self, key: str) -> bool:
        """Whether a write already used this idempotency key."""
        return key in self._by_key or (
            self._past is not None and self._past.written(key) is not None
        )

    def touched_buckets(self) -> dict[Account, tuple[Bucket, ...]]:
        """Buckets opened or changed since the ledger was resumed, emptied ones included."""
        return {
            account: tuple(self._buckets[account][bucket_id] for bucket_id in sorted(ids, key=int))
            for account, ids in self._touched.items()
        }

    def accounts(self) -> set[Account]:
        return {a for e in self._entries for a in (e.debit, e.credit)}

    def balance(self, account: Account) -> int:
        """Posted credits minus posted debits."""
        return self._posted.get(account, 0)

    def available(self, account: Account) -> int:
        """What a member can spend now: the balance less holds."""
        return self.balance(account) - self._pending_debits.get(account, 0)

    def pending_credits(self, account: Account) -> int:
        return self._pending_credits.get(account, 0)

    def pending_debits(self, account: Account) -> int:
        return self._pending_debits.get(account, 0)

    def buckets(self, account: Account) -> tuple[Bucket, ...]:
        """Unreserved buckets of a member account, soonest-expiring first."""
        found = self._account_buckets(account).values()
        return tuple(sorted((b for b in found if b.amount), key=fifo_order))

    def is_open(self, entry_id: int) -> bool:
        """Whether a pending entry still awaits its settle or void."""
        entry = self.entry(entry_id)
        return entry.state is EntryState.PENDING and self._resolution(entry_id) is None

    def is_reversed(self, entry_id: int) -> bool:
        return self._reversal(entry_id) is not None

    def sum_of_entries(self, account: Account) -> int:
        """The balance recomputed from the entries alone (the definition of a balance)."""
        total = 0
        for entry in self._entries:
            if entry.state is not EntryState.POSTED:
                continue
            if entry.credit == account:
                total += entry.amount
            if entry.debit == account:
                total -= entry.amount
        return total

    def open_debits_of_entries(self, account: Account) -> int:
        return sum(
            e.amount
            for e in self._entries
            if e.state is EntryState.PENDING and e.debit == account and e.id not in self._resolved
        )

    # --- writing ------------------------------------------------------------------------

    def post(
        self,
        *,
        key: str,
        debit: Account,
        credit: Account,
        amount: int,
        on: date,
        kind: str,
        pending: bool = False,
        rule_id: str | None = None,
        expires_on: date | None = None,
        memo: str = "",
    ) -> Entry:
        """Move ``amount`` from ``debit`` to ``credit`` (or reserve it, if ``pending``).

        A member debit takes from the buckets, soonest-expiring first; a member credit opens a
        bucket valid until ``expires_on`` (``None``: no date of its own).
        """
        request = ("post", debit, credit, amount, on, kind, pending, rule_id, expires_on, memo)
        # (the same tuple as Ledger.request("post", ...), built by hand on the hot path)
        replay = self._replay(key, request)
        if replay is not None:
            return replay[1]  # type: ignore[return-value]
        self._check_amount(amount)
        if debit == credit:
            raise InvalidPosting(N_("debit and credit must be different accounts"))
        if debit.currency != credit.currency:
            raise InvalidPosting(
                N_("an entry moves one currency"), debit=debit.currency, credit=credit.currency
            )
        taken = self._take(debit, amount) if debit.is_member else ()
        state = EntryState.PENDING if pending else EntryState.POSTED
        return self._append(
            key,
            request,
            debit=debit,
            credit=credit,
            amount=amount,
            on=on,
            kind=kind,
            state=state,
            rule_id=rule_id,
            expires_on=expires_on if credit.is_member else None,
            taken=taken,
            memo=memo,
        )

    def settle(self, *, key: str, pending_id: int, on: date, amount: int | None = None) -> Entry:
        """Confirm a pending entry, fully or for a smaller ``amount`` (the rest is released)."""
        request = ("settle", pending_id, on, amount)
        replay = self._replay(key, request)
        if replay is not None:
            return replay[1]  # type: ignore[return-value]
        pending = self._open_pending(pending_id)
        amount = pending.amount if amount is None else amount
        self._check_amount(amount)
        if amount > pending.amount:
            raise InvalidPosting(
                N_("cannot settle {amount}, the pending entry holds {amount2}"),
                amount=amount,
                amount2=pending.amount,
                pending=pending.amount,
            )
        taken = self._first(pending.taken, amount)
        return self._append(
            key,
            request,
            debit=pending.debit,
            credit=pending.credit,
            amount=amount,
            on=on,
            kind=pending.kind,
            state=EntryState.POSTED,
            rule_id=pending.rule_id,
            resolves=pending.id,
            expires_on=pending.expires_on,
            taken=taken,
            released=pending,
            memo=pending.memo,
        )

    def void(self, *, key: str, pending_id: int, on: date) -> Entry:
        """Cancel a pending entry: nothing moves, a hold's points return to their buckets."""
        request = ("void", pending_id, on)
        replay = self._replay(key, request)
        if replay is not None:
            return replay[1]  # type: ignore[return-value]
        pending = self._open_pending(pending_id)
        return self._append(
            key,
            request,
            debit=pending.debit,
            credit=pending.credit,
            amount=pending.amount,
            on=on,
            kind=pending.kind,
            state=EntryState.VOIDED,
            rule_id=pending.rule_id,
            resolves=pending.id,
            released=pending,
        )

    def reverse(self, *, key: str, entry_id: int, on: date, memo: str = "") -> Entry:
        """Undo a posted entry exactly, by a new entry the other way that points to it.

        Reversing a member debit gives the points back to the buckets they came from (with
        their original expiry); reversing a member credit takes back its own bucket first,
        then soonest-expiring, and fails if the member no longer has the points.
        """
        request = ("reverse", entry_id, on, memo)
        replay = self._replay(key, request)
        if replay is not None:
            return replay[1]  # type: ignore[return-value]
        original = self.entry(entry_id)
        if original.state is not EntryState.POSTED:
            raise EntryStateConflict(
                N_("only a posted entry can be reversed; settle or void a pending one"),
                entry=entry_id,
            )
        if original.reverses is not None:
            raise EntryStateConflict(N_("a reversal is not reversed again"), entry=entry_id)
        reversed_by = self._reversal(entry_id)
        if reversed_by is not None:
            raise EntryStateConflict(
                N_("entry {entry_id} is already reversed by entry {reversed_by}"),
                entry_id=entry_id,
                entry=entry_id,
                reversed_by=reversed_by,
            )
        taken: tuple[Allocation, ...] = ()
        if original.credit.is_member:
            first = str(original.id) if original.opens_bucket else None
            taken = self._take(original.credit, original.amount, first=first)
        return self._append(
            key,
            request,
            debit=original.credit,
            credit=original.debit,
            amount=original.amount,
            on=on,
            kind="reversal",
            state=EntryState.POSTED,
            rule_id=original.rule_id,
            reverses=original.id,
            taken=taken,
            restored=original.taken if original.debit.is_member else (),
            memo=memo,
        )

    def expire(self, *, key: str, account: Account, on: date) -> Entry | None:
        """Lapse every bucket of a member account whose last valid day is before ``on``.

        Holds are not touched: their points were reserved before they lapsed. Returns ``None``
        when nothing is due (and a replay of the key returns ``None`` again).
        """
        due = tuple(
            Allocation(b.id, b.amount)
            for b in self.buckets(account)
            if b.expires_on is not None and b.expires_on < on
        )
        return self._expire(key, ("expire", account, on), account, on, due)

    def expire_balance(self, *, key: str, account: Account, on: date) -> Entry | None:
        """Lapse the whole available balance (expiry after the last activity)."""
        due = tuple(Allocation(b.id, b.amount) for b in self.buckets(account))
        return self._expire(key, ("expire_balance", account, on), account, on, due)

    def expire_allocations(
        self, *, key: str, account: Account, on: date, due: Sequence[Allocation]
    ) -> Entry | None:
        """Lapse the buckets the rules chose (see :func:`egards.loyalty.domain.due_expiries`)."""
        request = ("expire_allocations", account, on, tuple(due))
        return self._expire(key, request, account, on, tuple(due))

    # --- invariants ---------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Raise AssertionError if the books do not hold; the property tests call it."""
        by_currency: dict[str, int] = {}
        for account in self.accounts() | set(self._posted):
            recomputed = self.sum_of_entries(account)
            assert self.balance(account) == recomputed, (account, self.balance(account), recomputed)
            assert self.pending_debits(account) == self.open_debits_of_entries(account), account
            by_currency[account.currency] = by_currency.get(account.currency, 0) + recomputed
            if account.is_member:
                assert self.available(account) >= 0, (account, self.available(account))
                in_buckets = sum(b.amount for b in self.buckets(account))
                assert in_buckets == self.available(account), (account, in_buckets)
        assert all(total == 0 for total in by_currency.values()), by_currency

    # --- internals ----------------------------------------------------------------------

    def _replay(self, key: str, request: tuple[Any, ...]) -> tuple[bool, Entry | None] | None:
        if not key:
            raise InvalidPosting(N_("every ledger write needs an idempotency key"), field="key")
        seen = self._by_key.get(key)
        if seen is None and self._past is not None:
            seen = self._past.written(key)
        if seen is None:
            return None
        if seen[0] != request:
            raise IdempotencyConflict(
                N_("idempotency key {key!r} was used for a different write"), key=key
            )
        return True, seen[1]

    @staticmethod
    def _check_amount(amount: int) -> None:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidPosting(
                N_("an amount is a positive integer"), field="amount", value=amount
            )

    def _open_pending(self, pending_id: int) -> Entry:
        pending = self.entry(pending_id)
        if pending.state is not EntryState.PENDING:
            raise EntryStateConflict(
                N_("entry {pending_id} is not pending"), pending_id=pending_id, entry=pending_id
            )
        resolved_by = self._resolution(pending_id)
        if resolved_by is not None:
            raise EntryStateConflict(
                N_("pending entry {pending_id} is already settled or voided"),
                pending_id=pending_id,
                entry=pending_id,
                resolved_by=resolved_by,
            )
        return pending

    def _take(
        self, account: Account, amount: int, *, first: str | None = None
    ) -> tuple[Allocation, ...]:
        available = self.available(account)
        if amount > available:
            raise InsufficientBalance(
                plural_message(
                    "{amount} {currency} requested, {count} available",
                    "{amount} {currency} requested, {count} available",
                    available,
                    amount=amount,
                    currency=account.currency,
                ),
                account=account.member,
                requested=amount,
                available=available,
            )
        _, taken = consume_fifo(self.buckets(account), amount, first=first)
        return taken

    @staticmethod
    def _first(allocations: Sequence[Allocation], amount: int) -> tuple[Allocation, ...]:
        chosen: list[Allocation] = []
        left = amount
        for allocation in allocations:
            if not left:
                break
            part = min(left, allocation.amount)
            chosen.append(Allocation(allocation.bucket_id, part))
            left -= part
        return tuple(chosen)

    def _expire(
        self,
        key: str,
        request: tuple[Any, ...],
        account: Account,
        on: date,
        due: tuple[Allocation, ...],
    ) -> Entry | None:
        replay = self._replay(key, request)
        if replay is not None:
            return replay[1]
        if not account.is_member:
            raise InvalidPosting(N_("only member accounts expire"), account=account.kind.value)
        buckets = {b.id: b.amount for b in self.buckets(account)}
        for allocation in due:
            if allocation.amount <= 0 or buckets.get(allocation.bucket_id, 0) < allocation.amount:
                raise InsufficientBalance(
                    N_("bucket {bucket_id} does not hold {amount}"),
                    bucket_id=allocation.bucket_id,
                    amount=allocation.amount,
                    bucket=allocation.bucket_id,
                )
            buckets[allocation.bucket_id] -= allocation.amount
        amount = sum(a.amount for a in due)
        if amount == 0:
            # Remembered in memory only: storage holds entries, so a ledger resumed from it
            # evaluates a later repeat of this key afresh (it may then find something due).
            self._by_key[key] = (request, None)
            return None
        return self._append(
            key,
            request,
            debit=account,
            credit=Account.of_programme(AccountKind.EXPIRY, account.currency),
            amount=amount,
            on=on,
            kind="expiry",
            state=EntryState.POSTED,
            taken=due,
        )

    def _append(
        self,
        key: str,
        request: tuple[Any, ...],
        *,
        released: Entry | None = None,
        **fields: Any,
    ) -> Entry:
        entry = Entry(id=len(self) + 1, key=key, **fields)
        if released is not None:
            self._release(released)
            self._resolved[released.id] = entry.id
        if entry.state is EntryState.POSTED:
            self._posted[entry.debit] = self._posted.get(entry.debit, 0) - entry.amount
            self._posted[entry.credit] = self._posted.get(entry.credit, 0) + entry.amount
            if entry.credit.is_member:
                if entry.restored:
                    self._give_back(entry.credit, entry.restored)
                else:
                    self._open_bucket(entry)
        elif entry.state is EntryState.PENDING:
            self._pending_debits[entry.debit] = self._pending_debits.get(entry.debit, 0) + (
                entry.amount
            )
            self._pending_credits[entry.credit] = self._pending_credits.get(entry.credit, 0) + (
                entry.amount
            )
        if entry.debit.is_member and entry.state is not EntryState.VOIDED:
            self._draw(entry.debit, entry.taken)
        if entry.reverses is not None:
            self._reversed[entry.reverses] = entry.id
        self._entries.append(entry)
        self._by_key[key] = (request, entry)
        return entry

    def _release(self, pending: Entry) -> None:
        # (.get: a resumed ledger counts programme accounts from the resume on)
        self._pending_debits[pending.debit] = self._pending_debits.get(pending.debit, 0) - (
            pending.amount
        )
        self._pending_credits[pending.credit] = self._pending_credits.get(pending.credit, 0) - (
            pending.amount
        )
        if pending.debit.is_member:
            self._give_back(pending.debit, pending.taken)

    def _open_bucket(self, entry: Entry) -> None:
        # Not loading the stored buckets: opening one needs none of them (the hot path).
        buckets = self._buckets.setdefault(entry.credit, {})
        buckets[str(entry.id)] = Bucket(str(entry.id), entry.on, entry.expires_on, entry.amount)
        self._touch(entry.credit, str(entry.id))

    def _give_back(self, account: Account, allocations: Sequence[Allocation]) -> None:
        buckets = self._account_buckets(account)
        for allocation in allocations:
            bucket = self._bucket(account, allocation.bucket_id)
            buckets[allocation.bucket_id] = Bucket(
                bucket.id, bucket.earned_on, bucket.expires_on, bucket.amount + allocation.amount
            )
            self._touch(account, allocation.bucket_id)

    def _draw(self, account: Account, allocations: Sequence[Allocation]) -> None:
        buckets = self._account_buckets(account)
        for allocation in allocations:
            bucket = buckets[allocation.bucket_id]
            remaining = bucket.amount - allocation.amount
            assert remaining >= 0, (bucket, allocation)
            buckets[allocation.bucket_id] = Bucket(
                bucket.id, bucket.earned_on, bucket.expires_on, remaining
            )
            self._touch(account, allocation.bucket_id)

    def _touch(self, account: Account, bucket_id: str) -> None:
        if self._past is not None:
            self._touched.setdefault(account, set()).add(bucket_id)

    def _account_buckets(self, account: Account) -> dict[str, Bucket]:
        """An account's buckets, the stored ones loaded the first time they are needed."""
        buckets = self._buckets.setdefault(account, {})
        if self._past is not None and account not in self._loaded:
            self._loaded.add(account)
            for bucket in self._past.buckets(account):
                buckets.setdefault(bucket.id, bucket)
        return buckets

    def _bucket(self, account: Account, bucket_id: str) -> Bucket:
        """A bucket, an emptied one (which storage need not keep) rebuilt from its entry."""
        found = self._account_buckets(account).get(bucket_id)
        if found is None:
            opened = self.entry(int(bucket_id))
            found = Bucket(bucket_id, opened.on, opened.expires_on, 0)
        return found

    def _resolution(self, entry_id: int) -> int | None:
        found = self._resolved.get(entry_id)
        if found is None and self._past is not None and entry_id <= self._start:
            found = self._past.resolution(entry_id)
        return found

    def _reversal(self, entry_id: int) -> int | None:
        found = self._reversed.get(entry_id)
        if found is None and self._past is not None and entry_id <= self._start:
            found = self._past.reversal(entry_id)
        return found
