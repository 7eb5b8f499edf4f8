"""The toy world with unfaithful references teaches an MLE summarizer to hallucinate: the
starting point of benchmarks/conseq_effect.py, in its fast setting (one seed)."""

from quals_hf.toy.unfaithful import make_unfaithful_examples, unsupported_facts


def test_unfaithful_references_teach_the_summarizer_to_hallucinate(load_benchmark, tmp_path):
    effect = load_benchmark("conseq_effect")
    setting = effect.QUICK
    train = make_unfaithful_examples(setting.train_docs, seed=1000)
    model, tokenizer, _ = effect.train_mle(train, 0, setting, tmp_path)
    test = make_unfaithful_examples(100, seed=effect.TEST_SEED)
    summaries = effect.greedy_summaries(model, tokenizer, [e.document for e in test])
    added = [unsupported_facts(e.document, s) for e, s in zip(test, summaries)]
    without = [a for a, e in zip(added, test) if e.omits_number]
    with_number = [a for a, e in zip(added, test) if not e.omits_number]
    # a quarter of the references of documents without a number are faithful, yet the
    # summarizer adds a number to most such documents; it copies the others faithfully
    assert sum(bool(a) for a in without) / len(without) > 0.6
    assert sum(bool(a) for a in with_number) / len(with_number) < 0.05
    numbers = [a for a in without if a]
    assert sum(all(f.isdigit() for f in a) for a in numbers) / len(numbers) > 0.9
