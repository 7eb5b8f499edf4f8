"""ConSeq makes the toy summarizer hallucinate less: one seed of benchmarks/conseq_effect.py.

An MLE summarizer trained on references of which 30% state a number their document leaves out
is continued for 30 steps with MLE (the control) and with ConSeq mined by QUALS with the toy
QAGen, in the setting that lowered the rate in the full run (margin loss, the 60% of documents
with the best references and the worst negatives; docs/conseq.md).

The effect is fragile, and this test guards the pipeline on the one seed where it is large, not
the effect itself. Trained models depend on the thread count; the shared toy models and this
test train with 1 thread (tests/conftest.py). With 1 thread, control -> ConSeq was 24.0% ->
33.5% on seed 0, 35.5% -> 36.0% on seed 1 and 33.0% -> 17.0% on seed 2; the full run (2
threads) gave 26.0% -> 11.5%, 32.5% -> 30.5% and 29.0% -> 19.0%. This test reruns seed 2 with 1
thread.
"""

from dataclasses import replace

import pytest

pytestmark = pytest.mark.slow


def test_conseq_hallucinates_less_than_more_mle(
    load_benchmark, toy_qagen_dir, tmp_path, training_threads
):
    effect = load_benchmark("conseq_effect")
    setting = replace(effect.Setting(), loss="margin", positive_ratio=0.6, negative_ratio=0.6)
    rows = effect.run(
        [2], ["mle", "conseq-quals"], setting, tmp_path / "rows.jsonl", tmp_path, toy_qagen_dir
    )
    arm = {r["arm"]: r for r in rows}
    start, control, conseq = arm["mle-start"], arm["mle"], arm["conseq-quals"]
    # the MLE summarizer learned the references' habit: a number its document does not state
    assert start["hallucination_without_number"] > 0.6
    assert start["hallucination_with_number"] < 0.05
    assert conseq["selected"][0] >= 30
    # 200 test documents: one standard error of a rate near 0.25 is 0.03
    assert conseq["hallucination"] < control["hallucination"] - 0.06
    assert conseq["rouge2"] > control["rouge2"] - 0.02  # no less close to the faithful summaries
