"""Words the console shows through a variable (``_(case.status)``, ``translate(locale,
LABELS[code])``, menu entries): listed for ``pybabel extract``, which sees only literals, so
that updating the catalogue keeps them. Never imported. Add a word here when you show a new
value through a variable; tests/unit/test_translations.py fails on a French word missing
from here."""

from egards.i18n import N_

WORDS = (
    N_("active"),
    N_("admin"),
    N_("agent"),
    N_("analyst"),
    N_("any"),
    N_("api"),
    N_("billing"),
    N_("cancellation"),
    N_("console"),
    N_("email"),
    N_("erased"),
    N_("letter"),
    N_("loyalty"),
    N_("loyalty_number"),
    N_("marketing"),
    N_("merged"),
    N_("partner"),
    N_("partners"),
    N_("phone"),
    N_("post"),
    N_("profiling"),
    N_("push"),
    N_("quality"),
    N_("shop"),
    N_("sms"),
    N_("social"),
    N_("source_id"),
    N_("supervisor"),
    N_("support"),
    N_("surveys"),
    N_("web"),
    # the titles of the errors (problem details, error pages)
    N_("The request breaks a rule"),
    N_("Not found"),
    N_("Conflict with the current state"),
    N_("Invalid input"),
    N_("Not allowed"),
    N_("Authentication required"),
    N_("Find a customer"),
)
