"""Customer value and risk.

The pure numerical library lives in :mod:`egards.analytics.summary` (transactions to RFM
summaries), :mod:`egards.analytics.btyd` (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, Gamma-Gamma, sBG,
CLV), :mod:`egards.analytics.rfm` and :mod:`egards.analytics.datasets`. Nothing is imported here
so that the database side can import this package without loading NumPy and SciPy.
"""
