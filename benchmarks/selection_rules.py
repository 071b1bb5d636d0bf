"""Which epoch to keep? Compare epoch-selection rules on the default recipe by the cross-half
validation estimate of benchmarks/recipes.py (never the test split).

    .venv/bin/python benchmarks/selection_rules.py avg 0,2,4,6,8,10,12 > a.jsonl &
    .venv/bin/python benchmarks/selection_rules.py avg 1,3,5,7,9,11,13 > b.jsonl
    cat a.jsonl b.jsonl | python3 -c "import json,sys,statistics as s; rows=[json.loads(l) for l in sys.stdin]; \
        [print(k, round(s.mean(r[k] for r in rows), 4)) for k in rows[0] if k not in ('recipe', 'seed')]"

Rules: best accuracy then loss with patience 10 (what `nameclf train` does) or without patience;
lowest validation loss, with or without patience; best accuracy with ties to the later epoch; the
last epoch; fixed epochs 20 and 30. One JSON line per seed, each rule's mean over 20 halvings.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from recipes import BEFORE, RECIPES, Collector, pick_epoch, scores

from nameclf.paths import bundled_names_dir
from nameclf.training import TrainConfig, train


def pick_loss(accuracy, loss, patience):
    """The epoch of lowest validation loss, stopping after `patience` epochs without a new low."""
    best, best_epoch, stale = None, 0, 0
    for epoch, value in enumerate(loss):
        if best is None or value < best:
            best, best_epoch, stale = value, epoch, 0
        else:
            stale += 1
            if stale >= patience:
                break
    return best_epoch


def pick_accuracy_later(accuracy, loss, patience):
    """The best validation accuracy, a tie going to the later epoch."""
    best, best_epoch, stale = None, 0, 0
    for epoch, value in enumerate(accuracy):
        if best is None or value >= best:
            if best is None or value > best:
                stale = 0
            best, best_epoch = value, epoch
        else:
            stale += 1
            if stale >= patience:
                break
    return best_epoch


RULES = {
    "acc_p10": lambda accuracy, loss: pick_epoch(accuracy, loss, 10),  # what `nameclf train` does
    "acc_nop": lambda accuracy, loss: pick_epoch(accuracy, loss, 10**6),
    "loss_p10": lambda accuracy, loss: pick_loss(accuracy, loss, 10),
    "loss_nop": lambda accuracy, loss: pick_loss(accuracy, loss, 10**6),
    "acclater_p10": lambda accuracy, loss: pick_accuracy_later(accuracy, loss, 10),
    "last": lambda accuracy, loss: len(accuracy) - 1,
    "ep20": lambda accuracy, loss: 19,
    "ep30": lambda accuracy, loss: 29,
}


def main() -> None:
    recipe = sys.argv[1]
    for seed in [int(s) for s in sys.argv[2].split(",")]:
        config = TrainConfig(**{**BEFORE, **RECIPES[recipe]}, patience=10**6, seed=seed, threads=1)
        collector = Collector()
        with tempfile.TemporaryDirectory() as out:
            result = train(config, bundled_names_dir().parent, Path(out) / "m", collector, mark_latest=False)
        labels = result.config["labels"]
        targets = np.array([[float(label in ex.labels) for label in labels] for ex in collector.examples])
        probabilities = np.stack(collector.probabilities)
        rng = np.random.default_rng(seed)
        crossed = {rule: [] for rule in RULES}
        for _ in range(20):
            order = rng.permutation(len(targets))
            for chooser, judge in ((order[::2], order[1::2]), (order[1::2], order[::2])):
                accuracy, loss = scores(probabilities, targets, chooser)
                for rule, pick in RULES.items():
                    epoch = pick(accuracy, loss)
                    crossed[rule].append(float(scores(probabilities[epoch : epoch + 1], targets, judge)[0][0]))
        means = {rule: float(np.mean(values)) for rule, values in crossed.items()}
        print(json.dumps({"recipe": recipe, "seed": seed, **means}), flush=True)


if __name__ == "__main__":
    main()
