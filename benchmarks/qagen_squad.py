"""A QAGen on held-out SQuAD pairs, one stored row per pair: the numbers of the model card.

The pairs are those `quals-hf train-qagen` held out when the package's QAGen was trained
(SQuAD v1.0 train shuffled with seed 0, 201 pairs of whole contexts, half of the contexts cut to
the answer's sentence with seed 1), optionally lower-cased and PTB-tokenized (``--form
lower-ptb``: context and reference answer). Per pair:

- ``lp``: mean log-probability of the reference ``question <sep> answer`` + EOS given the
  context (teacher-forced by the scorer's own code: `QualsScorer.score_pairs`); the loss is -lp;
- the greedy generation, parsed by the scorer's codec: whether it parses into a pair, whether
  its answer is a span of the context (what QUALS' filter needs), its question's ROUGE-L
  against the reference, and whether its answer has a `PAIR_FLAWS` flaw.

    python benchmarks/qagen_squad.py --qagen DIR --out benchmarks/results/qagen_squad/NAME.jsonl.gz
    python benchmarks/qagen_squad.py --base --loss-only --out benchmarks/results/qagen_squad/...

``--base`` reads the plain base model instead: the dequantised GGUF that the package's QAGen is
built from (`quals_hf.qagen.default`), without the adapter, prompted in the adapter's format
(only its loss is meaningful: it was never taught to write pairs).

Rows are appended a batch at a time; a rerun skips the pairs already stored.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from tqdm.auto import tqdm

from quals_hf import QualsScorer
from quals_hf.core.loading import cache_root
from quals_hf.evaluation import ResultStore, chunks
from quals_hf.qagen.augment import augment_rows
from quals_hf.qagen.data import load_squad, mix, split_by_context, with_sentence_contexts
from quals_hf.qagen.default import ADAPTER_DIR, fetch_gguf, load_gguf_base
from quals_hf.qagen.formats import FORMAT_FILE, answer_in_summary
from quals_hf.qagen.train import _rouge_l
from quals_hf.scoring.pair_quality import pair_flaws
from quals_hf.scoring.pairs import QAPair

SQUAD = Path(__file__).resolve().parents[2] / "shared/data/squad/squad_v1.0_train.json.gz"
EVAL_SIZE, SEED, SENTENCE_RATE = 200, 0, 0.5  # as the package's QAGen was trained
MAX_SOURCE, MAX_TARGET = 256, 64


def held_out(squad: Path, form: str) -> list[dict]:
    """The held-out pairs, in the given text form."""
    _, rows = split_by_context(mix(load_squad(squad), seed=SEED), EVAL_SIZE, seed=SEED)
    rows = with_sentence_contexts(rows, SENTENCE_RATE, seed=SEED + 1)
    if form == "lower-ptb":
        rows = augment_rows(rows, lower_ptb_rate=1.0, seed=SEED + 1)
    return rows.to_list()


def base_scorer(batch_size: int, format: str | None = None) -> QualsScorer:
    """The package QAGen's base model without its adapter, in ``format`` or the adapter's."""
    model, tokenizer = load_gguf_base(fetch_gguf(cache_root() / "base"))
    format = format or json.loads((ADAPTER_DIR / FORMAT_FILE).read_text())
    return QualsScorer(model, tokenizer, format=format, batch_size=batch_size, progress=False)


def score(scorer: QualsScorer, rows: list[dict], loss_only: bool) -> list[dict]:
    contexts = [r["context"] for r in rows]
    pairs = [[QAPair(r["question"], r["answer"], math.nan)] for r in rows]
    lps = [out[0].lp_x for out in scorer.score_pairs(contexts, contexts, pairs)]
    found = [{"lp": lp} for lp in lps]
    if loss_only:
        return found
    prompts = scorer.codec.encode_inputs(contexts, MAX_SOURCE, "contexts")
    for row, ids, context, out in zip(
        rows, scorer.backend.greedy(prompts, MAX_TARGET), contexts, found
    ):
        parsed = scorer.codec.parse(ids)
        cut = not ids or ids[-1] not in scorer.backend.eos_ids
        question, answer = parsed[0] if parsed else ("", "")
        out.update(
            generated=scorer.tokenizer.decode(ids, skip_special_tokens=True),
            parsed=bool(parsed),
            span=bool(parsed) and answer_in_summary(answer, context),
            question_rouge_l=_rouge_l(question, row["question"]) if parsed else 0.0,
            flaws=sorted(pair_flaws(question, answer, cut)) if parsed else [],
        )
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--qagen", help="QAGen folder or Hub id")
    which.add_argument("--base", action="store_true", help="the package QAGen's base model")
    parser.add_argument("--out", type=Path, required=True, help="rows (.jsonl.gz)")
    parser.add_argument("--form", choices=["text", "lower-ptb"], default="text")
    parser.add_argument("--squad", type=Path, default=SQUAD, help="SQuAD v1.0/1.1 train JSON")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--loss-only", action="store_true", help="no greedy generation")
    parser.add_argument("--format", help="the QAGen's format, where its config names none")
    args = parser.parse_args(argv)
    rows = held_out(args.squad, args.form)
    store = ResultStore(args.out)
    todo = [i for i in range(len(rows)) if i not in store.rows]
    if not todo:
        return
    scorer = (
        base_scorer(args.batch_size, args.format)
        if args.base
        else QualsScorer.from_pretrained(
            args.qagen, format=args.format, batch_size=args.batch_size, progress=False
        )
    )
    with tqdm(total=len(rows), initial=len(rows) - len(todo), desc="held-out SQuAD") as bar:
        for batch in chunks(todo, args.batch_size):
            found = score(scorer, [rows[i] for i in batch], args.loss_only)
            stored = [{"id": i, **rows[i], **f} for i, f in zip(batch, found)]
            store.append(stored)
            bar.update(len(batch))


if __name__ == "__main__":
    main()
