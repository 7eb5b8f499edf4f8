"""Where evaluate finds the ``quals`` metric: users' evaluate caches import this module path
(``quals_hf/spaces/quals/quals.py``, copied there by `install_metric`), so it stays."""

from .metrics.quals import Quals

__all__ = ["Quals"]
