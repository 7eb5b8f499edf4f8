"""Does a scoring option see one unsupported fact? QUALS options on the toy world's ground truth.

Three kinds of summary, scored by the toy QAGen against their documents:
- faithful: the toy world's faithful summaries;
- added number: unfaithful references of `quals_hf.toy.unfaithful` that state a number of jobs
  their document leaves out (everything else in them is right): one unsupported fact;
- copy errors: the toy world's corrupted summaries (a name, company, city... swapped).

The QAGen runs once; every option is computed from the same scored pairs (`PairScore.score`,
`aggregate`). Each summary's score under every option is stored, one row per summary, in
``--out`` (rewritten by each run); `report_toy.options_table` prints, per option, the median
score of each kind; how far an added number falls below the faithful median, as a share of how
far a copy error falls; whether an added number scores at least as low as a copy error's median
(the goal of the issue "QUALS that sees one wrong fact"); and the AUC of faithful against each
kind (how often a faithful summary outscores it: what mining needs).

    python benchmarks/toy_options.py --n 100
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from report_toy import TOY_ROWS, options_table
from scoring_options import OPTIONS

from quals_hf import QualsConfig, QualsScorer
from quals_hf.evaluation import ResultStore
from quals_hf.toy.models import load_or_train_toy_qagen
from quals_hf.toy.unfaithful import make_unfaithful_examples
from quals_hf.toy.world import make_examples


def summaries(n: int, seed: int) -> dict[str, tuple[list[str], list[str]]]:
    """(documents, summaries) of each kind, ``n`` each, from stories no model trained on."""
    stories = make_examples(n, seed=seed)
    added = [
        e
        for e in make_unfaithful_examples(20 * n, seed=seed + 1, unfaithful_ratio=0.3)
        if not e.faithful
    ][:n]
    return {
        "faithful": ([e.document for e in stories], [e.summary for e in stories]),
        "added number": ([e.document for e in added], [e.reference for e in added]),
        "copy error": ([e.document for e in stories], [e.corrupted_summary for e in stories]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="summaries of each kind")
    parser.add_argument("--seed", type=int, default=95)
    parser.add_argument("--num-groups", type=int, default=20, help="toy summaries are short")
    parser.add_argument("--out", type=Path, default=TOY_ROWS, help="rows (.jsonl.gz)")
    args = parser.parse_args()
    model, tokenizer = load_or_train_toy_qagen()
    scorer = QualsScorer(model, tokenizer, num_groups=args.num_groups, progress=False)
    details = {}
    start = time.perf_counter()
    for kind, (documents, texts) in summaries(args.n, args.seed).items():
        details[kind] = scorer.score(documents, texts, return_details=True).pair_scores
    seconds = time.perf_counter() - start
    configs = [(label, QualsConfig(**options)) for label, options in OPTIONS]
    rows = []
    for kind, pairs in details.items():
        for summary in pairs:
            scores = {label: config.summary_score(summary) for label, config in configs}
            rows.append(
                {
                    "id": len(rows),
                    "kind": kind,
                    "n": args.n,
                    "seed": args.seed,
                    "num_groups": args.num_groups,
                    "scores": {k: None if math.isnan(v) else v for k, v in scores.items()},
                }
            )
    args.out.unlink(missing_ok=True)
    ResultStore(args.out).append(rows)
    print(f"QAGen run once ({seconds:.0f} s), options recomputed from its pairs; {args.out}\n")
    print(options_table(rows))


if __name__ == "__main__":
    main()
