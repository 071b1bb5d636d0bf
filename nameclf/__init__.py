"""nameclf: tell where a surname comes from with a character-level RNN, GRU or LSTM."""

__version__ = "0.1.0"
