"""The player back-end that ``player.backend`` names: the one module that knows both.

Each back-end is imported only when chosen, so a speaker on MPD never loads libVLC.
"""

from __future__ import annotations

import asyncio

from moodshuffle.act.base import Player, PlayerReports
from moodshuffle.config import PlayerConfig


def open_player(cfg: PlayerConfig, reports: PlayerReports, loop: asyncio.AbstractEventLoop | None = None) -> Player:
    """The back-end ``cfg.backend`` names, started (an MPD player connects in the background)."""
    if cfg.backend == "mpd":
        from moodshuffle.act.mpd_player import MpdPlayer

        return MpdPlayer(cfg.mpd, reports, cfg.volume, loop)
    from moodshuffle.act.player import VlcPlayer

    return VlcPlayer(cfg, reports, loop)
