"""QUALS factual-consistency metric for 🤗 evaluate (Nan et al., ACL 2021).

The implementation lives in the `quals_hf` package; this file is what `evaluate.load` imports.
"""

from quals_hf.metric import Quals

__all__ = ["Quals"]
