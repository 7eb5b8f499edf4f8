"""Deprecated module path of the ``quals`` metric: use `quals_hf.metrics.quals`.

Copies of the metric module that older quals_hf versions put in evaluate's modules cache
(``install-metric``, or an earlier ``evaluate.load`` of the Space) import `Quals` from here, so
this re-export stays, silently: those cached copies must keep loading.
"""

from .metrics.quals import Quals

__all__ = ["Quals"]
