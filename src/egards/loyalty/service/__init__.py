"""Use cases of the loyalty engine. Each runs inside the caller's unit of work.

A member's ledger is resumed from its stored state (:mod:`egards.loyalty.stored`: balances,
the buckets that still hold points, the tier state, what counts against caps) through the
in-memory :class:`Ledger` (the executable specification), the operation is applied there, and
only what it appended and changed is written: an operation costs the same whatever the
member's history. :func:`open_book` replays a whole ledger instead, to verify the stored
state (:func:`verify`). The member row is locked first (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite takes the database write lock at ``BEGIN IMMEDIATE``), so concurrent
operations on one member run one after the other and never lose or create a point.

The package's modules, each using only those before it: ``_common`` (the clock, the
programmes), ``books`` (a member's book opened, resumed and written), ``reading``,
``activities`` (counted one at a time), ``operations`` (enrolment, redemptions, holds,
goodwill, tier exceptions), ``period_ends`` (requalification, expiry), ``recent_rows`` (where
the bulk path's new rows go, and their merge), ``history_bulk`` (many histories in one pass),
``verification`` and ``customer_data`` (export and erasure). Callers
use the names re-exported here: ``from egards.loyalty import service``.
"""

from ._common import Today as Today
from ._common import get_programme as get_programme
from ._common import programmes as programmes
from ._common import today as today
from .activities import _content_hash as _content_hash
from .activities import activity_of as activity_of
from .activities import audit_parked as audit_parked
from .activities import record_activity as record_activity
from .activities import shown_earnings as shown_earnings
from .activities import stored_number as stored_number
from .books import Book as Book
from .books import close_book as close_book
from .books import open_book as open_book
from .books import resume_book as resume_book
from .customer_data import erase_customer_data as erase_customer_data
from .customer_data import export_section as export_section
from .earnings import earnings_of as earnings_of
from .earnings import store_earnings_json as store_earnings_json
from .history_bulk import record_histories as record_histories
from .history_bulk import record_history as record_history
from .operations import cancel_redemption as cancel_redemption
from .operations import change_tier_by_exception as change_tier_by_exception
from .operations import enrol as enrol
from .operations import grant_points as grant_points
from .operations import redeem as redeem
from .operations import resolve_hold as resolve_hold
from .period_ends import Requalified as Requalified
from .period_ends import Written as Written
from .period_ends import expire_points as expire_points
from .period_ends import expiry_candidates as expiry_candidates
from .period_ends import members_due as members_due
from .period_ends import requalified as requalified
from .period_ends import requalify as requalify
from .period_ends import write_requalified as write_requalified
from .reading import balances as balances
from .reading import case_standing as case_standing
from .reading import current_tiers as current_tiers
from .reading import customer_members as customer_members
from .reading import explain_member as explain_member
from .reading import find_member as find_member
from .reading import members_of as members_of
from .reading import programmes_of as programmes_of
from .reading import progress as progress
from .reading import statement as statement
from .reading import tier_counts as tier_counts
from .reading import tier_history as tier_history
from .recent_rows import LEDGER_PARTITIONS as LEDGER_PARTITIONS
from .recent_rows import merge_recent as merge_recent
from .recent_rows import oldest_recent as oldest_recent
from .recent_rows import recent_members as recent_members
from .verification import Difference as Difference
from .verification import store_replayed_state as store_replayed_state
from .verification import verify as verify
