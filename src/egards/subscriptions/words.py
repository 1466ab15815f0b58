"""Words the subscriptions feature shows through a variable (``_(row.status)``, labels chosen in
code): listed for ``pybabel extract``, which sees only literals, so that updating the catalogue
keeps them. Never imported."""

from egards.i18n import N_

WORDS = (
    N_("all"),
    N_("already_ended"),
    N_("call"),
    N_("callback"),
    N_("cancelled"),
    N_("cheaper_plan"),
    N_("credit_and_fix"),
    N_("discount"),
    N_("duplicate"),
    N_("email"),
    N_("ended"),
    N_("letter"),
    N_("notice_given"),
    N_("partner"),
    N_("phone"),
    N_("portal"),
    N_("registered"),
    N_("shop"),
    N_("stayed_with_offer"),
    N_("stayed_without"),
    N_("suspended"),
    N_("thanks"),
    N_("transfer"),
    N_("unmatched"),
    N_("web"),
    N_("won_back"),
)
