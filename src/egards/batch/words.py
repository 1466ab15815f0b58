"""Words the batch shows through a variable (its errors' titles, which the web edge and the
command line translate from ``exc.title``): listed for ``pybabel extract``, which sees only
literals, so that updating the catalogue keeps them. Never imported."""

from egards.i18n import N_

WORDS = (
    N_("Spark cannot start"),
    N_("The Parquet export does not cover this run"),
    N_("The Spark job failed"),
)
