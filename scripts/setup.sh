#!/usr/bin/env bash
# Set up moodshuffle on Debian / Raspberry Pi OS: system packages (only those missing),
# then a virtual environment in .venv with the package installed (editable).
#   scripts/setup.sh          runtime only
#   scripts/setup.sh dev      runtime + test tools
#   scripts/setup.sh train    runtime + training tools (TensorFlow; not needed on the Pi)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"

packages=(python3-venv python3-dev gcc portaudio19-dev libsndfile1 vlc-bin vlc-plugin-base mosquitto ffmpeg openssl)
# dev only: the music servers the tests start (MPD, Mopidy with its MPD front-end, Snapcast's server)
if [ "$extra" = dev ]; then packages+=(mpd mopidy mopidy-mpd snapserver); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  # --system-site-packages lets a Raspberry Pi OS image's python3-picamera2 be imported.
  "$python" -m venv --system-site-packages .venv
fi
stamp=".venv/.installed-${extra:-runtime}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages${extra:+ ($extra)}"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extra:+[$extra]}"
  touch "$stamp"
fi
echo "setup: ready"
