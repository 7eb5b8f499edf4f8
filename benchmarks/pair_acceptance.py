"""Would a reader accept QUALS' pairs? A blind labelling sheet drawn from stored runs.

    python benchmarks/pair_acceptance.py --round 1 \
        --judged benchmarks/results/pair_acceptance/labels.jsonl

Each round (`ROUNDS`) draws a seeded sample of the kept pairs of two stored validity runs on all
474 QAGS summaries (the shipped run's, and another choice of pairs), ``PER_RUN_AND_SET`` pairs
of each run and set, merges the pairs both runs chose, shuffles them, and prints each with its
summary only: not its scores, not the run that chose it (``--judged``: only those not judged
yet). A reader judges each by `RUBRIC`;
the judgements are stored in ``results/pair_acceptance/labels.jsonl`` (one row per pair:
``set``, ``id``, ``question``, ``answer``, ``accept``, the main `REASONS` entry that fails it
and a ``note``), and `report_acceptance` turns them into the docs' tables.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from stored_runs import G20_RUN, PREFER_RUN, SHIPPED_RUN, stored_pairs

from quals_hf.benchmark_data import QAGS_NAMES, load_qags

LABELS = Path(__file__).resolve().parent / "results" / "pair_acceptance" / "labels.jsonl"
# round (its seed) -> the stored runs whose pairs it compares: each round draws the shipped
# run's pairs afresh beside another choice of pairs, so that every sheet mixes two runs
ROUNDS = {
    0: (SHIPPED_RUN, PREFER_RUN),  # pair_filter="prefer_well_formed"
    1: (SHIPPED_RUN, G20_RUN),  # num_groups=20
}
PER_RUN_AND_SET = 30
RUBRIC = """\
Accept a pair only if all of these hold, judged from the summary alone (not the source):
1. the question is a question a person could ask: readable, about the summary's content, and
   asking one thing (a question with invented details that the summary does not state, e.g. a
   year it never names, fails);
2. the answer answers that question as the summary tells it: the kind the question asks for
   (a time for 'when', a number for 'how many', a person or group for 'who') and the right one;
3. the answer is a whole phrase: not part of a word, not a clause or sentence where the question
   asks for a name or number, not the question's own words repeated."""
# why a pair was not accepted (a label row's "reason"), roughly in the rubric's order
REASONS = (
    "unreadable question",
    "no question",
    "invented detail",
    "wrong kind of answer",
    "wrong answer",
    "answer in or repeating its question",
)


def sampled(
    run: str, name: str, round_: int, per_set: int = PER_RUN_AND_SET
) -> list[tuple[int, str, str]]:
    """``(id, question, answer)`` of ``per_set`` kept pairs of ``run`` on set ``name``, drawn
    uniformly from all of them with a seed of the round's own (the same draw whenever it
    runs)."""
    pairs = sorted(stored_pairs(run, name))
    return random.Random(f"{round_}:{run}:{name}").sample(pairs, per_set)


def label_key(row: dict) -> tuple[str, int, str, str]:
    """What identifies a judged pair (a sheet item or a label row): set, id, question, answer."""
    return row["set"], row["id"], row["question"], row["answer"]


def sheet(round_: int) -> list[dict]:
    """Every pair a round samples, once, shuffled, with its set, summary id and summary."""
    items = []
    for name in QAGS_NAMES:
        data = load_qags(name)
        summaries = dict(zip(data["id"], data["summary"]))
        unique = sorted({pair for run in ROUNDS[round_] for pair in sampled(run, name, round_)})
        items += [
            {"set": name, "id": i, "summary": summaries[i], "question": q, "answer": a}
            for i, q, a in unique
        ]
    random.Random(round_).shuffle(items)
    return items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round", type=int, choices=sorted(ROUNDS), default=max(ROUNDS))
    parser.add_argument(
        "--judged", type=Path, help="leave out the pairs this labels.jsonl already judges"
    )
    args = parser.parse_args(argv)
    judged = set()
    if args.judged:
        judged = {label_key(json.loads(line)) for line in args.judged.read_text().splitlines()}
    print(RUBRIC, end="\n\n")
    for k, item in enumerate(sheet(args.round)):
        if label_key(item) not in judged:
            print(f"[{k}] {item['set']} #{item['id']}: {item['summary']}")
            print(f"    Q: {item['question']}\n    A: {item['answer']}\n")


if __name__ == "__main__":
    main()
