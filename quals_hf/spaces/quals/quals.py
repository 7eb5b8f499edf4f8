"""QUALS factual-consistency metric for 🤗 evaluate (Nan et al., ACL 2021).

The implementation lives in the `quals_hf` package (`quals_hf.metrics.quals`); this file is
what `evaluate.load` imports.
"""

from quals_hf.metrics.quals import Quals

__all__ = ["Quals"]
