"""moodshuffle: a smart-speaker daemon that reorders the music queue to follow the room's mood."""

__version__ = "0.1.0"
