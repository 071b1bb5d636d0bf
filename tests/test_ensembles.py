"""K-fold ensembles (`--members K`): each member trains on its own fold, the out-of-fold validation covers
every name once, the members round-trip through save and load, and numpy averages them as torch does;
impossible member counts and weights that do not match them are refused."""

from __future__ import annotations

import numpy as np
import pytest
from model_files import edit_config, read_config
from network_outputs import PROBE_NAMES, TINY, numpy_probabilities, torch_member_probabilities

from nameclf import checkpoint
from nameclf.data import Example
from nameclf.errors import ModelError, UsageError
from nameclf.fitting import member_folds
from nameclf.predict import Predictor
from nameclf.training import TrainConfig, train


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_an_ensemble_round_trips_and_numpy_averages_its_members_as_torch_does(dataset_dir, tmp_path, cell):
    out = tmp_path / "ensemble"
    result = train(TrainConfig(cell=cell, members=3, bidirectional=True, **TINY), dataset_dir, out)
    saved = checkpoint.load(out)
    assert saved.members == 3 and saved.config["ensemble"]["members"] == 3
    assert {name.split(".")[1] for name in saved.weights if name.startswith("members.")} == {"0", "1", "2"}
    members = saved.member_weights()
    assert len(members) == 3
    assert not np.array_equal(members[0]["head.weight"], members[1]["head.weight"])  # really different networks
    per_member = torch_member_probabilities(saved, PROBE_NAMES)
    np.testing.assert_allclose(numpy_probabilities(saved, PROBE_NAMES), per_member.mean(axis=0), atol=1e-5)
    # the out-of-fold validation covers every train and validation name once
    sizes = saved.config["data"]["sizes"]
    assert result.config["metrics"]["validation_names"] == sizes["train"] + sizes["validation"]
    assert len(saved.config["training"]["member_epochs"]) == 3
    assert saved.config["parameters"] == 3 * sum(value.size for value in members[0].values())


def test_the_torch_backend_answers_an_ensemble_as_numpy_does(dataset_dir, tmp_path):
    out = tmp_path / "ensemble"
    train(TrainConfig(cell="gru", members=2, **TINY), dataset_dir, out)
    saved = checkpoint.load(out)
    encoded = [saved.vocabulary.encode(name) for name in PROBE_NAMES]
    np.testing.assert_allclose(
        Predictor(saved, backend="torch").log_probabilities(encoded),
        Predictor(saved).log_probabilities(encoded),
        atol=1e-5,
    )


def test_member_folds_are_disjoint_stratified_and_cover_every_name():
    examples = [Example(f"Name{i}", ("German" if i % 3 else "Italian",)) for i in range(60)]
    folds = member_folds(examples, 4, seed=1)
    validations = [validation for _, validation in folds]
    assert sorted(e.name for fold in validations for e in fold) == sorted(e.name for e in examples)
    for training, validation in folds:
        assert not {e.name for e in training} & {e.name for e in validation}
        assert len(training) + len(validation) == len(examples)
        italian = sum(e.labels == ("Italian",) for e in validation)
        assert italian == 5  # 20 Italian names dealt evenly over 4 folds
    assert member_folds(examples, 4, seed=1) == folds
    assert member_folds(examples, 4, seed=2) != folds


def test_an_ensembles_validation_log_holds_the_member_being_trained(dataset_dir, tmp_path):
    from nameclf.callbacks import ValidationLog

    log = ValidationLog()
    train(
        TrainConfig(cell="gru", members=2, epochs=2, **{k: v for k, v in TINY.items() if k != "epochs"}),
        dataset_dir,
        tmp_path / "m",
        callback=log,
    )
    assert len(log.probabilities) == 2  # the second member's two epochs, not four
    assert all(p.shape == (len(log.examples), 2) for p in log.probabilities)


@pytest.mark.parametrize("members", [0, 65])
def test_an_impossible_member_count_is_a_usage_error(members):
    with pytest.raises(UsageError):
        TrainConfig(members=members)


@pytest.mark.parametrize("members", [0, 65, "3", True])
def test_an_impossible_member_count_is_a_one_line_model_error(tiny_model_dir, members):
    edit_config(tiny_model_dir, ensemble={"members": members})
    with pytest.raises(ModelError, match="ensemble members must be a whole number"):
        checkpoint.load(tiny_model_dir)


def test_member_weights_that_do_not_match_the_member_count_are_refused(dataset_dir, tmp_path):
    out = tmp_path / "ensemble"
    train(TrainConfig(cell="gru", members=2, **TINY), dataset_dir, out)
    edit_config(out, ensemble={**read_config(out)["ensemble"], "members": 3})
    with pytest.raises(ModelError, match=r"lacks weight members\.2\."):
        checkpoint.load(out)
