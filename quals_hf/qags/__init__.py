"""QAGS, the three-model baseline: answer candidates, question generation, extractive QA.
Imports only `quals_hf.core`."""

from .scorer import QagsConfig, QagsOutput, QagsQuestion, QagsScorer, token_f1

__all__ = ["QagsConfig", "QagsOutput", "QagsQuestion", "QagsScorer", "token_f1"]
