"""Where evaluate finds the ``qags`` metric: users' evaluate caches import this module path
(``quals_hf/spaces/qags/qags.py``, copied there by `install_metric`), so it stays."""

from .metrics.qags import Qags

__all__ = ["Qags"]
