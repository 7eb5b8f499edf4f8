"""Named ConSeq recipes: one `ConseqPreset` feeds the training, mining and scorer configs."""

import pytest

from quals_hf import CONSEQ_PRESETS, ContrastiveConfig, MiningConfig, QualsConfig
from quals_hf.conseq.config import PAPER_HYPERPARAMETERS


@pytest.mark.parametrize("name", sorted(CONSEQ_PRESETS))
def test_presets_set_every_config_of_their_recipe(name, tmp_path):
    preset = CONSEQ_PRESETS[name]
    args = ContrastiveConfig.preset(name, str(tmp_path), per_device_train_batch_size=4)
    assert (args.contrastive_loss, args.mle_weight) == (preset.contrastive_loss, preset.mle_weight)
    assert args.learning_rate == PAPER_HYPERPARAMETERS["learning_rate"]  # the paper's, always
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
    # Nan et al. 2021: lr 3e-6, polynomial decay, 2 epochs, clip 0.1, label smoothing 0.1
    assert (args.learning_rate, args.lr_scheduler_type, args.num_train_epochs) == (
        3e-6,
        "polynomial",
        2,
    )
    assert (args.max_grad_norm, args.label_smoothing_factor, args.weight_decay) == (0.1, 0.1, 0.01)
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


def test_the_old_spelling_warns_and_gives_the_paper_preset(tmp_path):
    with pytest.warns(FutureWarning, match=r'ContrastiveConfig\.preset\("paper", output_dir'):
        old = ContrastiveConfig.conseq(str(tmp_path), per_device_train_batch_size=8)
    assert old == ContrastiveConfig.preset("paper", str(tmp_path), per_device_train_batch_size=8)
    with pytest.warns(FutureWarning):
        margin = ContrastiveConfig.conseq(str(tmp_path), contrastive_loss="margin")
    assert margin == ContrastiveConfig.preset("paper", str(tmp_path), contrastive_loss="margin")
