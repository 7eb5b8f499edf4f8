"""The evaluate metrics (``quals``, ``qags``), their registration, and Trainer metrics.
Thin shells over `quals_hf.scoring` and `quals_hf.qags`."""
