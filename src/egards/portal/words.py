"""Words the portal feature shows through a variable (``_(row.status)``, labels chosen in
code): listed for ``pybabel extract``, which sees only literals, so that updating the catalogue
keeps them. Never imported."""

from egards.i18n import N_

WORDS = (
    N_("App notifications"),
    N_("Closed"),
    N_("done"),
    N_("Extended"),
    N_("extended"),
    N_("In progress"),
    N_("Offers and news"),
    N_("Offers chosen from my activity"),
    N_("Offers from partners"),
    N_("Post"),
    N_("received"),
    N_("refused"),
    N_("Refused"),
    N_("Settled"),
    N_("Text message"),
    N_("This sign-in link no longer works"),  # LinkRefused.title
    N_("Waiting for your answer"),
)
