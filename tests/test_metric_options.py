"""Both metrics refuse misspelt options and say how to get past an unloadable default model."""

import evaluate
import pytest

import quals_hf.metrics.qags
import quals_hf.metrics.quals
from quals_hf import METRIC_PATH, QAGS_METRIC_PATH
from quals_hf.toy.world import make_examples

EXAMPLE = make_examples(1, seed=21)[0]
ROUTES = [
    (METRIC_PATH, "qagne", "qagen", "num_group"),
    (QAGS_METRIC_PATH, "qg_chekpoint", "qg_checkpoint", "num_answer"),
]


@pytest.mark.parametrize("path,misspelt,meant,bad_compute", ROUTES)
def test_unknown_options_name_themselves_and_list_the_valid_ones(
    path, misspelt, meant, bad_compute
):
    with pytest.raises(ValueError, match=f"unknown load-time option '{misspelt}'") as err:
        evaluate.load(path, **{misspelt: "somewhere"})
    assert f" {meant}," in str(err.value) and "experiment_id" in str(err.value)
    assert " checkpoint," not in str(err.value)  # an old name works but is not offered
    metric = evaluate.load(path)
    with pytest.raises(ValueError, match=rf"unknown compute\(\) option '{bad_compute}'") as err:
        metric.compute(
            predictions=[EXAMPLE.summary], sources=[EXAMPLE.document], **{bad_compute: 3}
        )
    assert "batch_size" in str(err.value)


def test_an_unloadable_default_checkpoint_says_which_and_how_to_pass_another():
    quals_hf.metrics.quals._shared_qagen.cache_clear()
    quals_hf.metrics.qags._shared_qags.cache_clear()
    # tests run offline (HF_HUB_OFFLINE, empty caches): the package's QAGen cannot be built
    with pytest.raises(OSError) as err:  # quals: the package's QAGen cannot be built
        evaluate.load(METRIC_PATH).compute(
            predictions=[EXAMPLE.summary], sources=[EXAMPLE.document]
        )
    assert "could not fetch the default QAGen's base model" in str(err.value)
    assert "evaluate.load('quals', qagen=DIR)" in str(err.value)
    metric = evaluate.load(QAGS_METRIC_PATH, answer_extractor="regex")
    with pytest.raises(OSError) as err:
        metric.compute(predictions=[EXAMPLE.summary], sources=[EXAMPLE.document])
    default = quals_hf.metrics.qags.DEFAULT_QG_CHECKPOINT
    assert repr(default) in str(err.value) and "qg_checkpoint=" in str(err.value)


@pytest.mark.parametrize("path", [METRIC_PATH, QAGS_METRIC_PATH])
def test_device_or_dtype_with_a_ready_scorer_is_refused_by_both_metrics(path):
    metric = evaluate.load(path, scorer=object(), device="cpu")
    with pytest.raises(ValueError, match="not to a ready scorer"):
        metric.compute(predictions=[EXAMPLE.summary], sources=[EXAMPLE.document])
