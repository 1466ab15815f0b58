"""The nightly batch on an existing distributed engine (Spark), with the same results as on one
machine: Spark reads the Parquet export and groups the data, the existing pure functions do the
arithmetic, and the results go back through the single-machine jobs' bulk writers."""
