"""Deprecated module path of the ``qags`` metric: use `quals_hf.metrics.qags`.

Copies of the metric module that older quals_hf versions put in evaluate's modules cache
(``install-metric --name qags``, or an earlier ``evaluate.load`` of the Space) import `Qags`
from here, so this re-export stays, silently: those cached copies must keep loading.
"""

from .metrics.qags import Qags

__all__ = ["Qags"]
