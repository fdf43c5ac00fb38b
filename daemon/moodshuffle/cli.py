"""The ``moodshuffle`` command: run, scan, doctor and eval."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from moodshuffle import __version__
from moodshuffle.config import Config, ConfigError, load_config
from moodshuffle.library.errors import IndexTooNew
from moodshuffle.library.storage import StorageError
from moodshuffle.logs import setup_logging
from moodshuffle.runtime import ModelError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moodshuffle", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, default=None, help="config file (YAML)")
    # Subcommands accept -c too; SUPPRESS keeps a value given before the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS, help="config file (YAML)")
    parser.add_argument("--version", action="version", version=f"moodshuffle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="run the daemon")
    run.add_argument("--remove-discovery", action="store_true",
                     help="remove the Home Assistant discovery entries and exit")
    run.add_argument("--live", action="store_true", help="print a compact live view on stdout (demo)")
    sub.add_parser("scan", parents=[common], help="index the music library")
    sub.add_parser("doctor", parents=[common], help="check camera, microphone, VLC, broker and models")

    ev = sub.add_parser("eval", parents=[common], help="accuracy of the models on labelled data")
    ev_sub = ev.add_subparsers(dest="what", required=True)
    faces = ev_sub.add_parser("faces", parents=[common], help="expression model on a FER2013-format .npz")
    faces.add_argument("data", type=Path)
    faces.add_argument("--model", type=Path, default=None)
    frames = ev_sub.add_parser("frames", parents=[common], help="camera path on full frames (labels.csv)")
    frames.add_argument("data", type=Path)
    music = ev_sub.add_parser("music", parents=[common], help="music emotion model (labels.csv, quadrant)")
    music.add_argument("data", type=Path)
    music.add_argument("--model", type=Path, default=None)
    voice = ev_sub.add_parser("voice", parents=[common], help="voice model (labels.csv, emotion)")
    voice.add_argument("data", type=Path)
    voice.add_argument("--model", type=Path, default=None)
    mood = ev_sub.add_parser("mood", parents=[common],
                             help="camera path and mood estimator over a video in simulated time")
    mood.add_argument("video", type=Path)
    mood.add_argument("--segments", type=Path, default=None, help="CSV of start_s,end_s,emotion")
    return parser


def _eval(args: argparse.Namespace, cfg: Config) -> int:
    if args.what == "faces":
        from moodshuffle.evaluation import faces

        faces.main(args.data, args.model or Path(cfg.models.face_expression))
    elif args.what == "frames":
        from moodshuffle.evaluation import frames

        frames.main(args.data, cfg)
    elif args.what == "music":
        from moodshuffle.evaluation import music

        music.main(args.data, args.model or Path(cfg.models.music))
    elif args.what == "mood":
        from moodshuffle.evaluation import mood

        try:
            mood.main(args.video, cfg, args.segments)
        except ValueError as exc:  # an unreadable video or a malformed segments file
            logging.getLogger("moodshuffle").error("%s", exc)
            return 1
    else:
        from moodshuffle.evaluation import voice

        voice.main(args.data, args.model or Path(cfg.models.voice), cfg)
    return 0


def main(argv: list[str] | None = None) -> int:
    # OpenCV's own warnings (a missing /dev/videoN on every retry) would drown the daemon's log;
    # the daemon reports the camera's state itself
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    args = _parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"moodshuffle: config error: {problem}", file=sys.stderr)
        return 2
    setup_logging(cfg.log_level)
    log = logging.getLogger("moodshuffle")
    try:
        if args.command == "run":
            from moodshuffle import app

            if args.remove_discovery:
                return app.remove_discovery(cfg)
            return app.run(cfg, live=args.live, config_path=args.config)
        if args.command == "scan":
            from moodshuffle.library.cli import scan_command

            return scan_command(cfg)
        if args.command == "doctor":
            from moodshuffle.doctor import doctor

            return doctor(cfg)
        return _eval(args, cfg)
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:  # found when a part starts (libVLC rejecting player.vlc_args)
        for problem in exc.problems:
            print(f"moodshuffle: config error: {problem}", file=sys.stderr)
        return 2
    # one line naming the file says it all
    except (ModelError, IndexTooNew, StorageError, FileNotFoundError, NotADirectoryError) as exc:
        log.error("%s", exc)
        return 1
