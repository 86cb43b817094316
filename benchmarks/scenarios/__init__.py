"""The five scenarios of issue 9, one module each, run in this order by :mod:`benchmarks.run`."""
