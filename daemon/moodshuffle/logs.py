"""Logging to stderr in a journald-friendly form: a syslog priority prefix, no timestamps
(journald adds them) unless stderr is a terminal."""

from __future__ import annotations

import logging
import os
import sys
import unicodedata

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


#: characters that would break a journal line or a terminal: controls (newline, ESC, ...) and
#: the Unicode line/paragraph separators
_UNSAFE = frozenset({"Cc", "Zl", "Zp"})


def printable(text: str) -> str:
    """``text`` safe for one log line: control characters as ``\\n``/``\\x1b``, the undecodable
    bytes of a file name (surrogate escapes) as ``\\xff``, and ``\\`` doubled so the result is
    unambiguous. Everything else, accents and emoji included, stays as it is. Use it for every
    file name (and any text that may contain one) that goes into a log line or a report."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # surrogateescape decoded byte b as U+DC00 + b
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in _UNSAFE or 0xD800 <= code <= 0xDFFF:
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITY.get(record.levelno, 6)}>{super().format(record)}"


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM") and not sys.stderr.isatty():
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
