"""Errors of customer value and risk, each naming its cause."""

from __future__ import annotations

from egards.errors import Conflict, DomainError, InvalidInput, NotFound


class NoTransactions(InvalidInput):
    code = "no_transactions"
    title = "No transactions to score"


class ModelDidNotConverge(DomainError):
    code = "model_did_not_converge"
    status = 422
    title = "A model did not converge"


class RunInProgress(Conflict):
    code = "score_run_in_progress"


class NotScored(NotFound):
    code = "not_scored"
    title = "No score yet"
