from datetime import date

import pytest

from egards.loyalty.domain import Allocation
from egards.loyalty.errors import (
    EntryStateConflict,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidPosting,
)
from egards.loyalty.ledger import Account, AccountKind, EntryState, Ledger

DAY = date(2025, 3, 1)
ALICE = Account.of_member("alice", "MILES")
ISSUANCE = Account.of_programme(AccountKind.ISSUANCE, "MILES")
REDEMPTION = Account.of_programme(AccountKind.REDEMPTION, "MILES")
GOODWILL = Account.of_programme(AccountKind.GOODWILL, "MILES")


def earn(ledger, key, amount, *, expires_on=None, on=DAY, pending=False):
    return ledger.post(
        key=key,
        debit=ISSUANCE,
        credit=ALICE,
        amount=amount,
        on=on,
        kind="earn",
        expires_on=expires_on,
        pending=pending,
    )


def redeem(ledger, key, amount, *, pending=False):
    return ledger.post(
        key=key,
        debit=ALICE,
        credit=REDEMPTION,
        amount=amount,
        on=DAY,
        kind="redeem",
        pending=pending,
    )


def test_a_balance_is_the_sum_of_its_entries_and_the_books_balance():
    ledger = Ledger()
    earn(ledger, "e1", 1000)
    earn(ledger, "e2", 250)
    redeem(ledger, "r1", 400)
    assert ledger.balance(ALICE) == ledger.sum_of_entries(ALICE) == 850
    assert ledger.balance(ISSUANCE) == -1250 and ledger.balance(REDEMPTION) == 400
    ledger.check_invariants()


def test_the_same_key_with_the_same_content_changes_nothing():
    ledger = Ledger()
    first = earn(ledger, "flight-AF123", 1000)
    again = earn(ledger, "flight-AF123", 1000)
    assert again == first and len(ledger.entries) == 1 and ledger.balance(ALICE) == 1000


def test_the_same_key_with_different_content_is_an_error():
    ledger = Ledger()
    earn(ledger, "flight-AF123", 1000)
    with pytest.raises(IdempotencyConflict):
        earn(ledger, "flight-AF123", 1001)
    assert ledger.balance(ALICE) == 1000


def test_a_balance_never_goes_negative():
    ledger = Ledger()
    earn(ledger, "e1", 100)
    with pytest.raises(InsufficientBalance) as caught:
        redeem(ledger, "r1", 101)
    assert caught.value.context["available"] == 100
    assert len(ledger.entries) == 1


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_amounts_are_positive_integers(amount):
    with pytest.raises(InvalidPosting):
        earn(Ledger(), "e", amount)


def test_an_entry_moves_one_currency_between_two_accounts():
    ledger = Ledger()
    with pytest.raises(InvalidPosting):
        ledger.post(
            key="x",
            debit=Account.of_programme(AccountKind.ISSUANCE, "XP"),
            credit=ALICE,
            amount=1,
            on=DAY,
            kind="earn",
        )
    with pytest.raises(InvalidPosting):
        ledger.post(key="y", debit=ALICE, credit=ALICE, amount=1, on=DAY, kind="earn")


def test_pending_points_are_not_spendable_until_settled():
    ledger = Ledger()
    pending = earn(ledger, "flight", 800, pending=True)
    assert ledger.balance(ALICE) == 0 and ledger.pending_credits(ALICE) == 800
    with pytest.raises(InsufficientBalance):
        redeem(ledger, "r", 100)
    ledger.settle(key="flown", pending_id=pending.id, on=DAY)
    assert ledger.balance(ALICE) == 800 and ledger.pending_credits(ALICE) == 0
    with pytest.raises(EntryStateConflict):
        ledger.void(key="void", pending_id=pending.id, on=DAY)
    ledger.check_invariants()


def test_a_hold_reserves_points_and_a_void_gives_them_back():
    ledger = Ledger()
    earn(ledger, "e", 1000)
    hold = redeem(ledger, "hold", 700, pending=True)
    assert ledger.balance(ALICE) == 1000 and ledger.available(ALICE) == 300
    with pytest.raises(InsufficientBalance):
        redeem(ledger, "other", 301)
    voided = ledger.void(key="cancel", pending_id=hold.id, on=DAY)
    assert voided.state is EntryState.VOIDED and voided.resolves == hold.id
    assert ledger.available(ALICE) == 1000
    ledger.check_invariants()


def test_a_hold_settled_for_less_releases_the_rest():
    ledger = Ledger()
    earn(ledger, "e", 1000)
    hold = redeem(ledger, "hold", 700, pending=True)
    ledger.settle(key="paid", pending_id=hold.id, on=DAY, amount=500)
    assert ledger.balance(ALICE) == ledger.available(ALICE) == 500
    ledger.check_invariants()


def test_a_reversal_points_to_the_original_and_happens_once():
    ledger = Ledger()
    original = earn(ledger, "flight", 1000)
    reversal = ledger.reverse(key="refund", entry_id=original.id, on=DAY)
    assert reversal.reverses == original.id
    assert (reversal.debit, reversal.credit, reversal.amount) == (ALICE, ISSUANCE, 1000)
    assert ledger.balance(ALICE) == 0
    with pytest.raises(EntryStateConflict):
        ledger.reverse(key="refund-again", entry_id=original.id, on=DAY)
    with pytest.raises(EntryStateConflict):
        ledger.reverse(key="undo-refund", entry_id=reversal.id, on=DAY)


def test_a_refund_cannot_take_back_points_already_spent():
    ledger = Ledger()
    original = earn(ledger, "flight", 1000)
    redeem(ledger, "r", 600)
    with pytest.raises(InsufficientBalance):
        ledger.reverse(key="refund", entry_id=original.id, on=DAY)
    assert ledger.balance(ALICE) == 400


def test_a_refund_takes_back_its_own_bucket_first():
    ledger = Ledger()
    earn(ledger, "old", 300, expires_on=date(2025, 12, 31))
    recent = earn(ledger, "recent", 500, expires_on=date(2027, 2, 28))
    ledger.reverse(key="refund", entry_id=recent.id, on=DAY)
    assert [(b.expires_on, b.amount) for b in ledger.buckets(ALICE)] == [(date(2025, 12, 31), 300)]


def test_fifo_expiry_spends_soonest_expiring_first_and_expires_the_rest():
    ledger = Ledger()
    earn(ledger, "late", 500, expires_on=date(2027, 1, 31))
    earn(ledger, "soon", 300, expires_on=date(2025, 6, 30))
    earn(ledger, "sooner", 200, expires_on=date(2025, 4, 30))
    redeem(ledger, "r", 350)  # 200 from "sooner", 150 from "soon"
    expired = ledger.expire(key="expiry-2025-07-01", account=ALICE, on=date(2025, 7, 1))
    assert expired is not None and expired.amount == 150
    assert expired.credit == Account.of_programme(AccountKind.EXPIRY, "MILES")
    assert ledger.balance(ALICE) == 500
    assert ledger.expire(key="expiry-2025-07-01", account=ALICE, on=date(2025, 7, 1)) == expired
    ledger.check_invariants()


def test_a_cancelled_redemption_returns_points_with_their_original_expiry():
    ledger = Ledger()
    earn(ledger, "soon", 300, expires_on=date(2025, 6, 30))
    earn(ledger, "late", 500, expires_on=date(2027, 1, 31))
    redemption = redeem(ledger, "r", 400)
    ledger.reverse(key="cancel", entry_id=redemption.id, on=DAY)
    assert [(b.expires_on, b.amount) for b in ledger.buckets(ALICE)] == [
        (date(2025, 6, 30), 300),
        (date(2027, 1, 31), 500),
    ]


def test_the_whole_balance_lapses_after_inactivity_except_holds():
    ledger = Ledger()
    earn(ledger, "e", 900)
    redeem(ledger, "hold", 200, pending=True)
    lapsed = ledger.expire_balance(key="inactive", account=ALICE, on=date(2027, 3, 1))
    assert lapsed is not None and lapsed.amount == 700
    assert ledger.available(ALICE) == 0 and ledger.balance(ALICE) == 200
    ledger.check_invariants()


def test_expiry_of_chosen_buckets_checks_they_hold_the_points():
    ledger = Ledger()
    entry = earn(ledger, "e", 100, expires_on=date(2025, 3, 31))
    with pytest.raises(InsufficientBalance):
        ledger.expire_allocations(
            key="x", account=ALICE, on=DAY, due=[Allocation(str(entry.id), 101)]
        )
    ledger.expire_allocations(key="y", account=ALICE, on=DAY, due=[Allocation(str(entry.id), 40)])
    assert ledger.balance(ALICE) == 60


def test_goodwill_is_a_programme_account_like_the_others():
    ledger = Ledger()
    ledger.post(key="sorry", debit=GOODWILL, credit=ALICE, amount=5000, on=DAY, kind="goodwill")
    assert ledger.balance(GOODWILL) == -5000 and ledger.balance(ALICE) == 5000
    ledger.check_invariants()
