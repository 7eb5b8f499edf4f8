"""The lowest layer: checking and encoding inputs, batching, padding, loading models and tables.

Imports nothing else of `quals_hf`; every other package may import it.
"""
