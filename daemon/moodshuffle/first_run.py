"""What a new user needs to hear at start: one short block naming what is missing (music,
camera, broker) and the command or config key that fixes each, or nothing when all is well.

Pure: it reads ``doctor``'s check results, it runs nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from moodshuffle.config import Config
from moodshuffle.doctor import CheckResult

_FIX = " -- fix: "

#: check name -> (what the user calls it, the key that turns the part off when it is not wanted)
_TOPICS: dict[str, tuple[str, str]] = {
    "library": ("music", ""),
    "camera": ("camera", "or set camera.source; camera.enabled: false goes by the microphone alone"),
    "broker": ("broker", "or set mqtt.host and mqtt.port; mqtt.enabled: false runs without MQTT"),
}


def split_fix(message: str) -> tuple[str, str]:
    """A doctor message as (what was found, how to fix it); the fix is "" when none is given."""
    problem, _, fix = message.partition(_FIX)
    return problem.strip(), fix.strip()


def startup_advice(cfg: Config, results: Sequence[CheckResult], config_path: Path | None = None) -> str | None:
    """The guidance block for the library, camera and broker results among ``results`` (other
    checks are ignored), most important first; None when none of them failed. A library that
    only lacks its index is not missing when ``library.scan_on_start`` is set: the daemon is
    scanning it."""
    by_name = {r.name: r for r in results}
    lines = []
    for name, (topic, alternative) in _TOPICS.items():
        result = by_name.get(name)
        if result is None or result.ok:
            continue
        problem, fix = split_fix(result.message)
        if name == "library" and problem.startswith("no index") and cfg.library.scan_on_start:
            continue
        fix = "; ".join(part for part in (fix, alternative) if part)
        lines.append(f"  {topic:<7} {problem}")
        if fix:
            lines.append(f"  {'':<7} fix: {fix}")
    if not lines:
        return None
    where = f" in {config_path}" if config_path is not None else " (a YAML file passed with -c; see config.yaml)"
    config_flag = f"-c {config_path} " if config_path is not None else ""
    return "\n".join([
        "moodshuffle is running, but something is missing:",
        *lines,
        f"Keys are set{where}. Check again with: moodshuffle {config_flag}doctor",
    ])
