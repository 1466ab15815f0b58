"""Properties of the ledger over random sequences of earn, redeem, hold, settle, void, refund,
cancel and expire, including replays of earlier requests; and a ledger resumed from stored
state at any point goes on exactly as the whole ledger does."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egards.loyalty.domain import fifo_order
from egards.loyalty.errors import LoyaltyError
from egards.loyalty.ledger import Account, AccountKind, EntryState, Ledger

MEMBERS = ("alice", "alice", "alice", "bob")
CURRENCIES = ("MILES", "MILES", "XP")
START = date(2025, 1, 1)

member = st.sampled_from(MEMBERS)
currency = st.sampled_from(CURRENCIES)
amount = st.integers(min_value=1, max_value=2_000)
# Share of what is available, in percent: mostly fits, sometimes overdraws on purpose.
share = st.integers(min_value=1, max_value=120)
day = st.integers(min_value=0, max_value=900)
pick = st.integers(min_value=0, max_value=10_000)

operation = st.one_of(
    st.tuples(st.just("earn"), member, currency, amount, day, st.booleans(), st.booleans()),
    st.tuples(st.just("redeem"), member, currency, share, st.booleans()),
    st.tuples(st.just("goodwill"), member, currency, amount),
    st.tuples(st.just("settle"), pick, st.one_of(st.none(), share)),
    st.tuples(st.just("void"), pick),
    st.tuples(st.just("reverse"), pick),
    st.tuples(st.just("expire"), member, currency, day),
    st.tuples(st.just("expire_balance"), member, currency, day),
    st.tuples(st.just("replay"), pick),
)


def run(ledger: Ledger, op: tuple, key: str, requests: list) -> None:
    """Apply one generated operation; record the call so it can be replayed."""
    name = op[0]
    if name == "earn":
        _, who, cur, n, offset, pending, dated = op
        call = (
            ledger.post,
            dict(
                key=key,
                debit=Account.of_programme(AccountKind.ISSUANCE, cur),
                credit=Account.of_member(who, cur),
                amount=n,
                on=START,
                kind="earn",
                pending=pending,
                expires_on=START + timedelta(days=offset) if dated else None,
            ),
        )
    elif name == "redeem":
        _, who, cur, percent, pending = op
        n = max(1, ledger.available(Account.of_member(who, cur)) * percent // 100)
        call = (
            ledger.post,
            dict(
                key=key,
                debit=Account.of_member(who, cur),
                credit=Account.of_programme(AccountKind.REDEMPTION, cur),
                amount=n,
                on=START,
                kind="redeem",
                pending=pending,
            ),
        )
    elif name == "goodwill":
        _, who, cur, n = op
        call = (
            ledger.post,
            dict(
                key=key,
                debit=Account.of_programme(AccountKind.GOODWILL, cur),
                credit=Account.of_member(who, cur),
                amount=n,
                on=START,
                kind="goodwill",
            ),
        )
    elif name in ("settle", "void", "reverse"):
        # Mostly aim at entries the operation can apply to; sometimes at any entry, to check
        # that refusals change nothing.
        wanted = EntryState.POSTED if name == "reverse" else EntryState.PENDING
        candidates = [e for e in ledger.entries if e.state is wanted] or list(ledger.entries)
        if op[1] % 5 == 0:
            candidates = list(ledger.entries)
        if not candidates:
            return
        entry = candidates[op[1] % len(candidates)]
        if name == "settle":
            part = None if op[2] is None else max(1, entry.amount * op[2] // 100)
            call = (ledger.settle, dict(key=key, pending_id=entry.id, on=START, amount=part))
        elif name == "void":
            call = (ledger.void, dict(key=key, pending_id=entry.id, on=START))
        else:
            call = (ledger.reverse, dict(key=key, entry_id=entry.id, on=START))
    elif name in ("expire", "expire_balance"):
        _, who, cur, offset = op
        method = ledger.expire if name == "expire" else ledger.expire_balance
        call = (
            method,
            dict(key=key, account=Account.of_member(who, cur), on=START + timedelta(days=offset)),
        )
    else:
        if not requests:
            return
        call = requests[op[1] % len(requests)]
    function, arguments = call
    try:
        function(**arguments)
    except LoyaltyError:
        return  # a refused write: the invariants below show it changed nothing
    if name != "replay":
        requests.append(call)


def snapshot(ledger: Ledger) -> tuple:
    accounts = sorted(ledger.accounts(), key=repr)
    return (
        ledger.entries,
        tuple((a, ledger.balance(a), ledger.available(a), ledger.buckets(a)) for a in accounts),
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=10, max_size=60))
def test_ledger_invariants_hold_over_any_sequence(operations):
    ledger = Ledger()
    requests: list = []
    for index, op in enumerate(operations):
        before = snapshot(ledger)
        entries_before = len(ledger.entries)
        run(ledger, op, f"k{index}", requests)
        ledger.check_invariants()
        # Balances equal the sum of entries, books balance, no member account below zero
        # (check_invariants), and a write adds at most one entry, never edits an earlier one.
        assert ledger.entries[:entries_before] == before[0]
        assert len(ledger) == len(ledger.entries) <= entries_before + 1
        for account in ledger.accounts():
            assert ledger.balance(account) == ledger.sum_of_entries(account)
            if account.is_member:
                assert ledger.balance(account) >= 0
                assert ledger.available(account) >= 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=10, max_size=60))
def test_replaying_every_accepted_request_changes_nothing(operations):
    ledger = Ledger()
    requests: list = []
    for index, op in enumerate(operations):
        run(ledger, op, f"k{index}", requests)
    after = snapshot(ledger)
    for function, arguments in requests:
        function(**arguments)
    assert snapshot(ledger) == after


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(amount, st.booleans()), min_size=1, max_size=20))
def test_reversing_every_earning_brings_the_member_back_to_zero(earnings):
    ledger = Ledger()
    alice = Account.of_member("alice", "MILES")
    issuance = Account.of_programme(AccountKind.ISSUANCE, "MILES")
    posted = [
        ledger.post(
            key=f"e{i}",
            debit=issuance,
            credit=alice,
            amount=n,
            on=START,
            kind="earn",
            expires_on=START + timedelta(days=30 * i) if dated else None,
        )
        for i, (n, dated) in enumerate(earnings)
    ]
    for entry in reversed(posted[::2]):
        ledger.reverse(key=f"r{entry.id}", entry_id=entry.id, on=START)
    for entry in posted[1::2]:
        ledger.reverse(key=f"r{entry.id}", entry_id=entry.id, on=START)
    assert ledger.balance(alice) == 0 and ledger.balance(issuance) == 0
    assert ledger.buckets(alice) == ()
    ledger.check_invariants()


class _Recorder:
    """A ledger whose writes are recorded with their outcome (an entry, or the error)."""

    WRITES = frozenset(("post", "settle", "void", "reverse", "expire", "expire_balance"))

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.calls: list[tuple[str, dict, object]] = []

    def __getattr__(self, name: str):
        found = getattr(self.ledger, name)
        if name not in self.WRITES:
            return found

        def write(**arguments):
            try:
                outcome = found(**arguments)
            except LoyaltyError as error:
                self.calls.append((name, arguments, type(error)))
                raise
            self.calls.append((name, arguments, outcome))
            return outcome

        return write


class _StoredPast:
    """What storage keeps of a ledger cut after ``length`` entries (see ledger.Past)."""

    def __init__(self, ledger: Ledger, calls: list, length: int) -> None:
        self.ledger, self.length = ledger, length
        self.requests = {
            arguments["key"]: (Ledger.request(name, **arguments), outcome)
            for name, arguments, outcome in calls
            if not isinstance(outcome, type) and outcome is not None
        }
        self.stored_buckets = {
            account: ledger.buckets(account) for account in ledger.accounts() if account.is_member
        }

    def entry(self, entry_id):
        return self.ledger.entry(entry_id)

    def written(self, key):
        return self.requests.get(key)

    def resolution(self, entry_id):
        return next((e.id for e in self.ledger.entries if e.resolves == entry_id), None)

    def reversal(self, entry_id):
        return next((e.id for e in self.ledger.entries if e.reverses == entry_id), None)

    def buckets(self, account):
        return self.stored_buckets.get(account, ())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=2, max_size=50), st.integers(0, 50))
def test_a_ledger_resumed_from_stored_state_goes_on_as_the_whole_ledger_does(operations, cut):
    cut = min(cut, len(operations))
    whole = _Recorder(Ledger())
    requests: list = []
    for index, op in enumerate(operations[:cut]):
        run(whole, op, f"k{index}", requests)  # type: ignore[arg-type]
    stored = Ledger()
    for name, arguments, outcome in whole.calls:  # the stored part, as it was written
        if not isinstance(outcome, type):
            getattr(stored, name)(**arguments)
    members = [a for a in stored.accounts() if a.is_member]
    resumed = Ledger.resume(
        _StoredPast(stored, whole.calls, len(stored)),
        length=len(stored),
        totals={
            a: (stored.balance(a), stored.pending_debits(a), stored.pending_credits(a))
            for a in members
        },
    )
    done = len(whole.calls)
    # Storage holds entries only: an expiry that found nothing due before the cut left no
    # trace, so a repeat of its key after the cut is evaluated afresh (a known limit, stated in
    # Ledger._expire); the in-memory ledger remembers it. Repeats of those keys are not compared.
    forgotten = {arguments["key"] for _, arguments, outcome in whole.calls if outcome is None}
    requests[:] = [call for call in requests if call[1]["key"] not in forgotten]
    for index, op in enumerate(operations[cut:], start=cut):
        run(whole, op, f"k{index}", requests)  # type: ignore[arg-type]
    for name, arguments, outcome in whole.calls[done:]:
        try:
            got = getattr(resumed, name)(**arguments)
        except LoyaltyError as error:
            got = type(error)
        assert got == outcome, (name, arguments)
    assert resumed.since(len(stored)) == whole.ledger.entries[len(stored) :]
    assert len(resumed) == len(whole.ledger)
    touched = resumed.touched_buckets()
    for account in whole.ledger.accounts():
        if not account.is_member:
            continue
        assert resumed.balance(account) == whole.ledger.balance(account)
        assert resumed.available(account) == whole.ledger.available(account)
        assert resumed.pending_credits(account) == whole.ledger.pending_credits(account)
        # What storage holds after writing the touched buckets is the whole ledger's buckets.
        kept = {b.id: b for b in stored.buckets(account) if b.amount}
        kept.update({b.id: b for b in touched.get(account, ())})
        assert tuple(sorted((b for b in kept.values() if b.amount), key=fifo_order)) == (
            whole.ledger.buckets(account)
        )
