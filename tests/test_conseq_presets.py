"""Named ConSeq recipes: one `ConseqPreset` feeds the training, mining and scorer configs."""

import pytest

from quals_hf import CONSEQ_PRESETS, ContrastiveConfig, MiningConfig, QualsConfig


@pytest.mark.parametrize("name", sorted(CONSEQ_PRESETS))
def test_presets_set_every_config_of_their_recipe(name, tmp_path):
    preset = CONSEQ_PRESETS[name]
    args = ContrastiveConfig.preset(name, str(tmp_path), per_device_train_batch_size=4)
    assert (args.contrastive_loss, args.mle_weight) == (preset.contrastive_loss, preset.mle_weight)
    assert args.learning_rate == ContrastiveConfig.conseq(str(tmp_path)).learning_rate  # paper's
    assert args.per_device_train_batch_size == 4  # overrides win
    mining = MiningConfig.preset(name, batch_size=2)
    assert (mining.positive_ratio, mining.negative_ratio, mining.num_candidates) == (
        preset.positive_ratio,
        preset.negative_ratio,
        preset.num_candidates,
    )
    assert mining.batch_size == 2
    assert mining.quals_pair_score == preset.pair_score
    assert mining.quals_aggregate == preset.aggregate
    scoring = QualsConfig(**preset.scorer_options())  # valid QUALS options
    assert (scoring.pair_score, scoring.aggregate) == (preset.pair_score, preset.aggregate)


def test_the_paper_preset_is_the_papers_defaults(tmp_path):
    paper = CONSEQ_PRESETS["paper"]
    assert MiningConfig.preset("paper") == MiningConfig()
    assert QualsConfig(**paper.scorer_options()) == QualsConfig()
    args = ContrastiveConfig.preset("paper", str(tmp_path))
    assert (args.contrastive_loss, args.mle_weight) == ("unlikelihood", 0.0)
    with pytest.raises(ValueError, match=r"unknown ConSeq preset 'best'.*paper"):
        MiningConfig.preset("best")


def test_scorer_quals_mines_with_the_presets_score(monkeypatch):
    from quals_hf.conseq import mining

    built = []

    def package_scorer(pair_score, aggregate):
        built.append((pair_score, aggregate))
        return lambda sources, summaries, references: [0.0] * len(sources)

    monkeypatch.setattr(mining, "_default_quals_scorer", package_scorer)
    recommended = CONSEQ_PRESETS["recommended"]
    score = mining.as_score_fn("quals", MiningConfig.preset("recommended"))
    assert score(["a source."], ["a summary."], ["a reference."]) == [0.0]
    mining.as_score_fn("quals")  # no config: the paper's
    assert built == [(recommended.pair_score, recommended.aggregate), ("pair", "mean")]
