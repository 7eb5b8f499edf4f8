"""The QAGen model: its text format, the model-backend seam, diverse search, teacher-forced
likelihoods, QA training data and fine-tuning. Imports only `quals_hf.core`."""
