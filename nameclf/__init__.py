"""nameclf: tell where a surname comes from with a character-level RNN, GRU or LSTM.

    import nameclf
    clf = nameclf.load()                            # the shipped German/Italian model, or yours
    clf.predict(["Tribbiani"])[0].language          # 'Italian'

Importing nameclf does not import torch; only `nameclf.train` does, when called.
"""

from nameclf.api import load, train
from nameclf.options import PredictOptions
from nameclf.version import __version__

__all__ = ["PredictOptions", "__version__", "load", "train"]
