"""The QUALS scoring options that the benchmarks compare (benchmarks/toy_options.py on the toy
world, benchmarks/validity.py on QAGS) and the AUC both report: kept in
`quals_hf.evaluation`, named here for the scripts that import them by this name."""

from quals_hf.evaluation.options import OPTIONS
from quals_hf.evaluation.stats import auc

__all__ = ["OPTIONS", "auc"]
