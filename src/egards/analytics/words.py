"""Words the analytics feature shows through a variable (``_(case.status)``, ``translate(locale,
LABELS[code])``, menu entries): listed for ``pybabel extract``, which sees only literals, so
that updating the catalogue keeps them. Never imported. Add a word here when you show a new
value through a variable; tests/unit/test_translations.py fails on a French word missing
from here."""

from egards.i18n import N_

WORDS = (
    N_("Analytics"),
    N_("failed"),
    N_("queued"),
    N_("running"),
    N_("succeeded"),
    N_("about_to_sleep"),
    N_("at_risk"),
    N_("cannot_lose"),
    N_("champions"),
    N_("hibernating"),
    N_("loyal"),
    N_("needs_attention"),
    N_("new"),
    N_("other"),
    N_("potential_loyalist"),
    N_("promising"),
    N_("tourist"),
    # the titles of the errors (problem details, error pages)
    N_("No transactions to score"),
    N_("A model did not converge"),
    N_("No score yet"),
    N_("Lower 30%"),
    N_("Middle"),
    N_("Top 10%"),
    N_("Top 30%"),
    N_("purchases"),
)
