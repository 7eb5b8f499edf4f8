"""QUALS itself: pairs and their selection, `QualsScorer`, explanations, scoring files.
Imports `quals_hf.core` and `quals_hf.qagen`."""
