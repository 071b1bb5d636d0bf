"""The seeds' cell equations against torch's fused nn.RNN/nn.GRU/nn.LSTM, on real names."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import torch

from nameclf import cells
from nameclf.cells import NUMPY, Cell, NetworkSpec
from nameclf.data import Vocabulary, length_batches, read_names
from nameclf.model import NameClassifier, state_arrays
from nameclf.paths import bundled_names_dir

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def real_names():
    """A few hundred real names of many lengths and scripts' letters, and their vocabulary."""
    names = []
    for language in ("German", "Italian", "Polish", "Czech", "Russian"):
        names += read_names(bundled_names_dir() / f"{language}.txt")[::7][:70]
    return names, Vocabulary.build(names)


def batches_of(names, vocabulary):
    encoded = [vocabulary.encode(name) for name in names]
    for members in length_batches([len(e) for e in encoded], 128):
        yield np.stack([encoded[i] for i in members])


def fused_model(cell: Cell, bidirectional: bool, layers: int, vocabulary: Vocabulary, seed: int = 0):
    torch.manual_seed(seed)
    spec = NetworkSpec(cell, vocabulary.size, 24, layers, bidirectional, 5)
    model = NameClassifier(spec, impl="torch").eval()
    with torch.no_grad():  # larger weights than the default init, so the gates saturate somewhere
        for parameter in model.parameters():
            parameter.mul_(2.5)
    return spec, model


GRID = list(itertools.product((Cell.rnn, Cell.gru, Cell.lstm), (False, True), (1, 2)))


@pytest.mark.parametrize(("cell", "bidirectional", "layers"), GRID)
def test_numpy_forward_equals_torch_fused(real_names, cell, bidirectional, layers):
    names, vocabulary = real_names
    assert len(names) >= 300
    spec, model = fused_model(cell, bidirectional, layers, vocabulary)
    prepared = cells.prepare(spec, state_arrays(model))
    worst = 0.0
    for indices in batches_of(names, vocabulary):
        with torch.no_grad():
            reference = torch.log_softmax(model(torch.from_numpy(indices)), dim=-1).numpy()
        ours = cells.log_softmax_numpy(cells.logits(NUMPY, spec, prepared, indices))
        worst = max(worst, float(np.abs(ours - reference).max()))
    assert worst < TOLERANCE


@pytest.mark.parametrize(("cell", "bidirectional", "layers"), GRID)
def test_scratch_cells_equal_torch_in_outputs_and_gradients(real_names, cell, bidirectional, layers):
    names, vocabulary = real_names
    spec, fused = fused_model(cell, bidirectional, layers, vocabulary)
    scratch = NameClassifier(spec, impl="scratch").eval()
    scratch.load_state_dict(fused.state_dict())
    generator = torch.Generator().manual_seed(1)
    for indices in itertools.islice(batches_of(names, vocabulary), 4):
        batch = torch.from_numpy(indices)
        labels = torch.randint(0, 5, (len(batch),), generator=generator)
        losses = []
        for model in (fused, scratch):
            model.zero_grad()
            scores = model(batch)
            loss = torch.nn.functional.cross_entropy(scores, labels)
            loss.backward()
            losses.append((scores.detach(), dict(model.named_parameters())))
        (fused_scores, fused_params), (scratch_scores, scratch_params) = losses
        assert torch.allclose(fused_scores, scratch_scores, atol=TOLERANCE, rtol=0)
        assert fused_params.keys() == scratch_params.keys()
        for name, parameter in fused_params.items():
            difference = (parameter.grad - scratch_params[name].grad).abs().max().item()
            assert difference < TOLERANCE, (name, difference)


def random_prepared(spec: NetworkSpec, seed: int):
    rng = np.random.default_rng(seed)
    weights = {
        name: rng.normal(0, 0.6, size=shape).astype(np.float32) for name, shape in cells.parameter_shapes(spec).items()
    }
    return weights


def test_gru_colah_is_gru_cho_with_the_update_gate_flipped(real_names):
    """Seeds 000/003 weigh the old state by 1 − z, seeds 001/002 by z: negating z's weights maps one onto the other."""
    names, vocabulary = real_names
    cho = NetworkSpec(Cell.gru_cho, vocabulary.size, 12, 1, True, 3)
    colah = NetworkSpec(Cell.gru_colah, vocabulary.size, 12, 1, True, 3)
    weights = random_prepared(cho, 3)
    flipped = dict(weights)
    for name, value in weights.items():
        if name.startswith("rnn."):
            value = value.copy()
            value[12:24] *= -1  # the z rows: sigma(-a) = 1 - sigma(a)
            flipped[name] = value
    indices = next(iter(batches_of(names, vocabulary)))
    a = cells.logits(NUMPY, cho, cells.prepare(cho, weights), indices)
    b = cells.logits(NUMPY, colah, cells.prepare(colah, flipped), indices)
    np.testing.assert_allclose(a, b, atol=1e-5)
    # and the seeds' reset-before-product GRU really is a different function from torch's
    torch_gru = NetworkSpec(Cell.gru, vocabulary.size, 12, 1, True, 3)
    c = cells.logits(NUMPY, torch_gru, cells.prepare(cho, weights), indices)
    assert np.abs(a - c).max() > 1e-3


def test_peephole_lstm_with_zero_peepholes_is_the_lstm(real_names):
    names, vocabulary = real_names
    peephole = NetworkSpec(Cell.lstm_peephole, vocabulary.size, 10, 2, True, 4)
    plain = NetworkSpec(Cell.lstm, vocabulary.size, 10, 2, True, 4)
    weights = random_prepared(peephole, 4)
    zeroed = {name: (np.zeros_like(v) if "peephole" in name else v) for name, v in weights.items()}
    indices = next(iter(batches_of(names, vocabulary)))
    with_zero = cells.logits(NUMPY, peephole, cells.prepare(peephole, zeroed), indices)
    lstm = cells.logits(NUMPY, plain, cells.prepare(plain, zeroed), indices)
    np.testing.assert_array_equal(with_zero, lstm)
    with_peepholes = cells.logits(NUMPY, peephole, cells.prepare(peephole, weights), indices)
    assert np.abs(with_peepholes - lstm).max() > 1e-3


def test_coupled_lstm_follows_its_equation():
    """One step by hand: c' = (1 − i) c + i g, h' = o tanh(c')."""
    rng = np.random.default_rng(5)
    hidden = 4
    xw = rng.normal(size=(2, 3 * hidden)).astype(np.float32)
    h, c = rng.normal(size=(2, hidden)).astype(np.float32), rng.normal(size=(2, hidden)).astype(np.float32)
    p = {"w_hh_t": rng.normal(size=(hidden, 3 * hidden)).astype(np.float32), "b_hh": np.zeros(3 * hidden, np.float32)}
    gates = xw + h @ p["w_hh_t"]
    i = 1 / (1 + np.exp(-gates[:, :hidden]))
    g = np.tanh(gates[:, hidden : 2 * hidden])
    o = 1 / (1 + np.exp(-gates[:, 2 * hidden :]))
    expected_c = (1 - i) * c + i * g
    new_h, new_c = cells.lstm_coupled_step(NUMPY, xw, (h, c), p)
    np.testing.assert_allclose(new_c, expected_c, atol=1e-6)
    np.testing.assert_allclose(new_h, o * np.tanh(expected_c), atol=1e-6)


@pytest.mark.parametrize("cell", list(Cell))
def test_padding_with_a_mask_never_changes_an_answer(real_names, cell):
    names, vocabulary = real_names
    spec = NetworkSpec(cell, vocabulary.size, 8, 2, True, 3)
    prepared = cells.prepare(spec, random_prepared(spec, 6))
    chosen = names[:40]
    longest = max(map(len, chosen))
    padded = np.zeros((len(chosen), longest), dtype=np.int64)
    mask = np.zeros((len(chosen), longest), dtype=bool)
    for row, name in enumerate(chosen):
        padded[row, : len(name)] = vocabulary.encode(name)
        mask[row, : len(name)] = True
    together = cells.logits(NUMPY, spec, prepared, padded, mask=mask)
    for row, name in enumerate(chosen):
        alone = cells.logits(NUMPY, spec, prepared, vocabulary.encode(name)[None])
        np.testing.assert_allclose(together[row], alone[0], atol=1e-5)


def test_predict_path_never_imports_torch(tmp_path):
    """Train nothing: build a model file with numpy, then predict in a fresh interpreter."""
    probe = f"""
import sys
import numpy as np
from nameclf import checkpoint, cells
from nameclf.data import Vocabulary
vocabulary = Vocabulary.build(["Rossi", "Weber"])
spec = cells.NetworkSpec("gru", vocabulary.size, 8, 1, False, 2)
rng = np.random.default_rng(0)
weights = {{n: rng.normal(size=s).astype(np.float32) for n, s in cells.parameter_shapes(spec).items()}}
config = {{"network": spec.to_dict(), "vocabulary": vocabulary.characters, "labels": ["German", "Italian"],
          "training": {{"impl": "torch"}}, "data": {{}}, "metrics": {{}}}}
checkpoint.save(r"{tmp_path / "m"}", weights, config)
from nameclf.cli import app
try:
    app(["predict", "Rossi", "--model", r"{tmp_path / "m"}"])
except SystemExit as exit:
    assert not exit.code, exit.code
print("torch imported:", "torch" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "torch imported: False"
    assert result.stdout.splitlines()[0].split()[0] == "Rossi"
