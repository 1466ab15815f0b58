"""Buy-till-you-die and retention models, fitted by maximum likelihood with analytic gradients.

Every model is a frozen dataclass of its parameters with prediction methods; every ``fit_*``
function takes keyword-only arrays (and optional row ``weights``) and returns a
:class:`Fitted` holding the model and its :class:`FitDiagnostics` (log-likelihood, standard
errors from the observed information, convergence).
"""

from ._fit import FitDiagnostics, Fitted
from .bg_bb import BetaGeoBetaBinomModel, fit_bg_bb
from .bg_nbd import BetaGeoModel, ModifiedBetaGeoModel, fit_bg_nbd, fit_mbg_nbd
from .clv import (
    DAYS_PER_MONTH,
    WEEKS_PER_MONTH,
    customer_lifetime_value,
    discounted_expected_purchases,
    monthly_rate_from_annual,
)
from .gamma_gamma import GammaGammaModel, fit_gamma_gamma
from .pareto_nbd import ParetoNBDModel, fit_pareto_nbd
from .sbg import ShiftedBetaGeometricModel, fit_sbg

__all__ = [
    "DAYS_PER_MONTH",
    "WEEKS_PER_MONTH",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "FitDiagnostics",
    "Fitted",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeometricModel",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "fit_bg_bb",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "fit_mbg_nbd",
    "fit_pareto_nbd",
    "fit_sbg",
    "monthly_rate_from_annual",
]
