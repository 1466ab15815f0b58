"""Words the voice feature shows through a variable (``_(row.status)``, labels chosen in
code): listed for ``pybabel extract``, which sees only literals, so that updating the catalogue
keeps them. Never imported."""

from egards.i18n import N_

WORDS = (
    N_("choose a rating from 1 to 5"),
    N_("choose a score from 0 to 10"),
    N_("NPS"),
    N_("negative"),
    N_("neutral"),
    N_("partly"),
    N_("positive"),
    N_("the customer withdrew their consent to surveys"),
    N_("this survey has already been answered"),
    N_("this survey link has expired"),
    N_("this survey link is not valid"),
    N_("By agent"),
    N_("By category"),
    N_("By team"),
    N_("By tier"),
)
