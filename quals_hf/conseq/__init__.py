"""ConSeq: contrastive sets, their mining and re-mining, the loss, collator and trainer.
Imports only `quals_hf.core`; any consistency scorer plugs in (`core.protocols`)."""
