"""The loyalty rules as pure functions: earning, tier qualification, expiry, explanation.

No I/O, no database, no clock: every function takes the programme, plain values and the date
it reasons about, and returns new values. Points are integers, money is integer cents, rates
are :class:`~decimal.Decimal` with the rounding the programme states. The in-memory ledger
that specifies the database ledger lives next door in :mod:`egards.loyalty.ledger`.

The rules live in one module per subject: :mod:`.dates` (calendar helpers, rounding, number
and date formatting), :mod:`.earning`, :mod:`.tiers`, :mod:`.counting` (one activity counted
for a member), :mod:`.expiry` and :mod:`.explanation`; every name callers use is importable
from here.
"""

from __future__ import annotations

from egards.loyalty.domain.counting import Counted, count_activity
from egards.loyalty.domain.dates import (
    add_months,
    end_of_month,
    format_date,
    format_number,
    round_points,
)
from egards.loyalty.domain.earning import (
    FUTURE_TOLERANCE,
    MAX_AMOUNT_CENTS,
    MAX_QUANTITY,
    Activity,
    Earning,
    Message,
    _applies,
    _base_amount,
    _capped,
    amount_cents,
    amount_rate,
    cap_window,
    compute_earnings,
    earning_line,
    per_amount,
    rendered_earnings,
    reverse_earnings,
    validate_activity,
)
from egards.loyalty.domain.expiry import (
    Allocation,
    Bucket,
    balance_lapses,
    balance_valid_until,
    check_redemption,
    consume_fifo,
    due_expiries,
    expiry_date,
    fifo_order,
    is_exempt,
    lapse_possible_before,
)
from egards.loyalty.domain.explanation import (
    PeriodCount,
    count_period,
    explain,
    explain_balance,
    explain_tier,
)
from egards.loyalty.domain.tiers import (
    TierEvent,
    TierEventKind,
    TierOutcome,
    TierState,
    Upgrade,
    apply_qualifying,
    close_periods,
    enrol,
    hold_period,
)

# fast.py reuses three private earning helpers through this package.
__all__ = [
    "FUTURE_TOLERANCE",
    "MAX_AMOUNT_CENTS",
    "MAX_QUANTITY",
    "Activity",
    "Allocation",
    "Bucket",
    "Counted",
    "Earning",
    "Message",
    "PeriodCount",
    "TierEvent",
    "TierEventKind",
    "TierOutcome",
    "TierState",
    "Upgrade",
    "_applies",
    "_base_amount",
    "_capped",
    "add_months",
    "amount_cents",
    "amount_rate",
    "apply_qualifying",
    "balance_lapses",
    "balance_valid_until",
    "cap_window",
    "check_redemption",
    "close_periods",
    "compute_earnings",
    "consume_fifo",
    "count_activity",
    "count_period",
    "due_expiries",
    "earning_line",
    "end_of_month",
    "enrol",
    "expiry_date",
    "explain",
    "explain_balance",
    "explain_tier",
    "fifo_order",
    "format_date",
    "format_number",
    "hold_period",
    "is_exempt",
    "lapse_possible_before",
    "per_amount",
    "rendered_earnings",
    "reverse_earnings",
    "round_points",
    "validate_activity",
]
