from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from moodshuffle.notify import SystemdNotifier
from tests import REPO


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.real
def test_unit_file_verifies_clean(tmp_path):
    # The unit names the installed path (/opt/moodshuffle); verify it against this checkout's venv.
    unit = (REPO / "systemd" / "moodshuffle.service").read_text()
    exe = Path(sys.executable).parent / "moodshuffle"
    unit = unit.replace("/opt/moodshuffle/.venv/bin/moodshuffle", str(exe))
    path = tmp_path / "moodshuffle.service"
    path.write_text(unit)
    proc = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "moodshuffle.service" not in proc.stderr, proc.stderr


def test_notifier_sends_ready_status_and_watchdog(tmp_path, monkeypatch):
    address = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    notifier = SystemdNotifier()
    assert notifier.watchdog_interval_s == 10.0
    notifier.ready("listening")
    notifier.watchdog()
    assert server.recv(100) == b"READY=1\nSTATUS=listening"
    assert server.recv(100) == b"WATCHDOG=1"
    server.close()


def test_notifier_is_silent_outside_systemd(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    notifier = SystemdNotifier()
    assert not notifier.enabled and notifier.watchdog_interval_s is None
    notifier.ready()  # no error
