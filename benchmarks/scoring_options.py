"""The QUALS scoring options that the benchmarks compare (benchmarks/toy_options.py on the toy
world, benchmarks/validity.py on QAGS): labels and `QualsConfig` fields, the paper's first; and
the AUC both report."""

OPTIONS: list[tuple[str, dict]] = [
    ("paper: pair tokens, mean", {}),
    ("answer tokens, mean", {"pair_score": "answer"}),
    ("weighted 0.25, mean", {"pair_score": "weighted", "question_weight": 0.25}),
    ("pair tokens, min", {"aggregate": "min"}),
    ("pair tokens, worst 3", {"aggregate": "worst_k"}),
    ("pair tokens, softmin 0.5", {"aggregate": "softmin"}),
    ("answer tokens, min", {"pair_score": "answer", "aggregate": "min"}),
    ("answer tokens, worst 3", {"pair_score": "answer", "aggregate": "worst_k"}),
    ("answer tokens, softmin 0.5", {"pair_score": "answer", "aggregate": "softmin"}),
]


def auc(higher: list[float], lower: list[float]) -> float:
    """P(a score of ``higher`` > one of ``lower``), ties counting half (Mann-Whitney)."""
    wins = sum((h > v) + 0.5 * (h == v) for h in higher for v in lower)
    return wins / (len(higher) * len(lower))
