"""superloss.numeric: everything seen as numbers: Monte Carlo, benchmarks, the command line."""
