"""``superloss bench``: the measured figures against their targets (the tables are in :mod:`numeric.bench.tables`)."""

from .tables import (TRAINED_SIZE_SEED, baseline, nelder_mead_baseline, phase, run, trained_size_weights,
                     training_throughput)

__all__ = ["TRAINED_SIZE_SEED", "baseline", "nelder_mead_baseline", "phase", "run", "trained_size_weights",
           "training_throughput"]
