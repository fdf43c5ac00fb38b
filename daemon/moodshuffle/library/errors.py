"""The library's errors that reach the command line (no imports: the CLI loads this at start)."""


class IndexTooNew(RuntimeError):
    """The index was written by a newer moodshuffle: this one cannot read it."""
