"""Words the loyalty feature shows through a variable (``_(case.status)``, ``translate(locale,
LABELS[code])``, menu entries): listed for ``pybabel extract``, which sees only literals, so
that updating the catalogue keeps them. Never imported. Add a word here when you show a new
value through a variable; tests/unit/test_translations.py fails on a French word missing
from here."""

from egards.i18n import N_

WORDS = (
    N_("after_earning"),
    N_("after_last_activity"),
    N_("calendar_year"),
    N_("counter deduct"),
    N_("counter keep"),
    N_("counter reset"),
    N_("cumulative"),
    N_("earn"),
    N_("expiry "),
    N_("goodwill"),
    N_("never"),
    N_("pending"),
    N_("personal"),
    N_("redemption"),
    N_("requalify"),
    N_("reversal"),
    N_("rolling"),
    N_("soft_landing"),
    N_("voided"),
    # the titles of the errors (problem details, error pages)
    N_("The loyalty rules refuse this"),
    N_("Invalid loyalty programme"),
    N_("Invalid activity"),
    N_("Unknown loyalty reference"),
    N_("Insufficient balance"),
    N_("Idempotency key reused with different content"),
    N_("Invalid ledger posting"),
    N_("The entry cannot change that way"),
    N_("Redemption refused"),
)
