"""The toy world and the tiny models trained on it in seconds: tests, demos, examples.
Imports nothing else of `quals_hf`."""
