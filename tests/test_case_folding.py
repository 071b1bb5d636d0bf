"""Case folding (`--fold-case`): a folded model reads any case of a name alike, keeps each name's length,
round-trips through save and load, and never puts two spellings of one name in two parts of the split."""

from __future__ import annotations

import numpy as np
from network_outputs import PROBE_NAMES, TINY, numpy_probabilities, torch_member_probabilities

from nameclf import checkpoint
from nameclf.data import Vocabulary, load_dataset, split_dataset
from nameclf.paths import bundled_names_dir
from nameclf.predict import Predictor
from nameclf.training import TrainConfig, train


def test_case_folding_reads_any_case_alike_and_round_trips(dataset_dir, tmp_path):
    out = tmp_path / "folded"
    train(TrainConfig(cell="lstm", fold_case=True, **TINY), dataset_dir, out)
    saved = checkpoint.load(out)
    assert saved.config["text"]["fold_case"] is True
    assert saved.vocabulary.fold_case
    assert not any(char.isupper() for char in saved.vocabulary.characters)
    variants = numpy_probabilities(saved, ["Tribbiani", "TRIBBIANI", "tribbiani"])
    np.testing.assert_array_equal(variants[0], variants[1])
    np.testing.assert_array_equal(variants[0], variants[2])
    np.testing.assert_allclose(
        numpy_probabilities(saved, PROBE_NAMES), torch_member_probabilities(saved, PROBE_NAMES)[0], atol=1e-5
    )
    prediction = Predictor(saved).predict(["MÜLLER"])[0]
    assert prediction.unknown_characters == 0 and prediction.language is not None


def test_folding_keeps_a_names_length():
    vocabulary = Vocabulary.build(["Abel", "İnce"], fold_case=True)
    assert len(vocabulary.encode("İnce")) == 4  # "İ".lower() is two characters: kept as it is
    assert vocabulary.encode("ABEL").tolist() == vocabulary.encode("abel").tolist()


def test_case_folding_never_puts_two_spellings_of_a_name_in_two_parts(tmp_path):
    """Vietnamese holds both "An" and "an": folded, they are one example, in one part of the split."""
    dataset = load_dataset(bundled_names_dir(), "all", fold_case=True)
    assert sum(example.name == "an" for example in dataset.examples) == 1
    assert not any(example.name != example.name.lower() for example in dataset.examples if example.name.isascii())
    for seed in (0, 2, 3, 7):
        parts = split_dataset(dataset, seed)
        seen = [{e.name for e in part} for part in (parts.train, parts.validation, parts.test)]
        assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
