"""The config's optional sections (ensemble, text, calibration): a format-1 folder has none of them and
loads and predicts the same without them, ignoring any it carries; in a later format each is an object."""

from __future__ import annotations

import numpy as np
import pytest
from model_files import edit_config, read_config, write_config
from network_outputs import PROBE_NAMES, TINY, numpy_probabilities

from nameclf import checkpoint
from nameclf.errors import ModelError
from nameclf.training import TrainConfig, train


def test_a_format_1_model_folder_loads_and_predicts_the_same(dataset_dir, tmp_path):
    out = tmp_path / "model"
    train(TrainConfig(cell="gru", **TINY), dataset_dir, out)
    before = numpy_probabilities(checkpoint.load(out), PROBE_NAMES)
    config = read_config(out)
    config["format_version"] = 1
    for added in ("ensemble", "text", "parameters", "calibration"):
        del config[added]
    write_config(out, config)
    old = checkpoint.load(out)
    assert old.members == 1 and not old.vocabulary.fold_case
    np.testing.assert_array_equal(numpy_probabilities(old, PROBE_NAMES), before)


def test_a_format_1_folder_ignores_keys_format_1_never_had(tiny_model_dir):
    edit_config(tiny_model_dir, format_version=1, ensemble={"members": 2}, text={"fold_case": True})
    saved = checkpoint.load(tiny_model_dir)
    assert saved.members == 1 and not saved.vocabulary.fold_case


@pytest.mark.parametrize("section", ["ensemble", "text", "calibration"])
def test_a_config_section_that_is_not_an_object_is_a_one_line_model_error(tiny_model_dir, section):
    edit_config(tiny_model_dir, **{section: [2]})
    with pytest.raises(ModelError, match=f"{section} must be an object"):
        checkpoint.load(tiny_model_dir)
