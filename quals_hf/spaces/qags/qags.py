"""QAGS factual-consistency metric for 🤗 evaluate (Wang et al., ACL 2020).

The implementation lives in the `quals_hf` package (`quals_hf.metrics.qags`); this file is
what `evaluate.load` imports.
"""

from quals_hf.metrics.qags import Qags

__all__ = ["Qags"]
