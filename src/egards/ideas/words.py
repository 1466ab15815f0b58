"""Words the idea box shows through a variable (statuses, error messages): listed for
``pybabel extract``, which sees only literals, so that updating the catalogue keeps them.
Never imported."""

from egards.i18n import N_

WORDS = (
    N_("new"),
    N_("under_review"),
    N_("planned"),
    N_("in_progress"),
    N_("done"),
    N_("declined"),
    N_("merged"),
    N_("you have already voted for this idea"),
    N_("this idea is not open to votes"),
    N_("this idea is closed: votes are over"),
    N_("this idea was merged into another one"),
    N_("no HTML or script, plain text only"),
    N_("say why the idea is declined"),
    N_("an idea cannot be merged into itself"),
    N_("merge into an idea that is visible and not merged"),
    N_("comment {comment_id} not found"),
)
