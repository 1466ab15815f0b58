"""Maximum likelihood on log-parameters with analytic gradients, shared by every model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

__all__ = [
    "FitDiagnostics",
    "Fitted",
    "as_float_array",
    "maximise_log_likelihood",
    "row_weights",
    "weighted_sums",
]

M = TypeVar("M")

# Value and gradient of the weighted log-likelihood at natural (positive) parameters.
LogLikelihood = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True, slots=True)
class FitDiagnostics:
    """What the optimiser reports, and the uncertainty of the estimates.

    ``standard_errors`` come from the inverse of the observed information (the Hessian of the
    negative log-likelihood), computed on log-parameters by central differences of the analytic
    gradient and carried to the natural scale with the delta method.
    """

    log_likelihood: float
    standard_errors: Mapping[str, float]
    covariance: np.ndarray = field(repr=False)
    n_observations: float
    converged: bool
    iterations: int
    function_evaluations: int
    message: str


def as_float_array(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        array = array.ravel()
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def row_weights(weights, size: int) -> np.ndarray:
    if weights is None:
        return np.ones(size)
    w = as_float_array(weights, "weights")
    if w.shape != (size,):
        raise ValueError("weights must have one value per row")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    return w


def weighted_sums(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``rows @ weights`` without BLAS.

    Multi-threaded BLAS, on a busy machine, waits for its threads far longer than this
    arithmetic takes (milliseconds instead of a fraction of one); a plain reduction does not.
    """
    return np.add.reduce(rows * weights, axis=-1)


def maximise_log_likelihood(
    *,
    log_likelihood: LogLikelihood,
    names: Sequence[str],
    initial: Sequence[float],
    n_observations: float,
    tolerance: float = 1e-10,
    max_iterations: int = 2000,
) -> tuple[np.ndarray, FitDiagnostics]:
    """Maximise ``log_likelihood`` over positive parameters with L-BFGS-B on their logarithms.

    The objective is scaled by the number of observations so that the stopping tolerance means
    the same thing for a hundred customers as for ten million.
    """
    scale = 1.0 / max(n_observations, 1.0)
    # The optimiser asks again for points it has seen (the last one of a line search, the
    # optimum for the standard errors): each evaluation is a pass over every distinct row.
    seen: dict[bytes, tuple[float, np.ndarray]] = {}

    def objective(log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        key = np.asarray(log_theta, dtype=float).tobytes()
        if key in seen:
            value, gradient = seen[key]
            return value, gradient.copy()
        theta = np.exp(log_theta)
        value, gradient = log_likelihood(theta)
        if not np.isfinite(value):
            result = np.inf, np.zeros_like(log_theta)
        else:
            result = -value * scale, -gradient * theta * scale
        if len(seen) > 8:
            seen.clear()
        seen[key] = (result[0], np.array(result[1]))
        return result

    x0 = np.log(np.asarray(initial, dtype=float))
    # L-BFGS-B calls BLAS on vectors of four numbers: BLAS threads only wait for each other
    # (on a busy two-core machine, half of the fitting time went there).
    with threadpool_limits(limits=1, user_api="blas"):
        result = minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-25.0, 25.0)] * len(x0),
            options={"maxiter": max_iterations, "ftol": tolerance * 1e-3, "gtol": tolerance},
        )
    log_theta = result.x
    theta = np.exp(log_theta)
    value = -objective(log_theta)[0] / scale
    covariance_log = _inverse_information(objective, log_theta, scale)
    # Delta method: d theta = theta d log(theta).
    covariance = covariance_log * np.outer(theta, theta)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(covariance))
    diagnostics = FitDiagnostics(
        log_likelihood=float(value),
        standard_errors={n: float(s) for n, s in zip(names, se, strict=True)},
        covariance=covariance,
        n_observations=float(n_observations),
        converged=bool(result.success),
        iterations=int(result.nit),
        function_evaluations=int(result.nfev),
        message=str(result.message),
    )
    return theta, diagnostics


def _inverse_information(objective, log_theta: np.ndarray, scale: float) -> np.ndarray:
    """Forward differences of the analytic gradient from the optimum (whose gradient the
    optimiser has just computed): one evaluation per parameter, accurate to about 1e-5 in
    relative terms, which is ample for standard errors."""
    k = log_theta.size
    hessian = np.empty((k, k))
    at = objective(log_theta)[1]
    for i in range(k):
        step = 1e-5 * max(1.0, abs(log_theta[i]))
        up = log_theta.copy()
        up[i] += step
        hessian[i] = (objective(up)[1] - at) / step
    hessian = 0.5 * (hessian + hessian.T) / scale
    try:
        return np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan)


@dataclass(frozen=True, slots=True)
class Fitted(Generic[M]):
    """A fitted model (the parameters, usable for prediction) with its fit diagnostics."""

    model: M
    diagnostics: FitDiagnostics

    @property
    def log_likelihood(self) -> float:
        return self.diagnostics.log_likelihood

    @property
    def standard_errors(self) -> Mapping[str, float]:
        return self.diagnostics.standard_errors
