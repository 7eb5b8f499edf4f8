"""QAGS factual-consistency metric for 🤗 evaluate (Wang et al., ACL 2020).

The implementation lives in the `quals_hf` package; this file is what `evaluate.load` imports.
"""

from quals_hf.qags_metric import Qags

__all__ = ["Qags"]
