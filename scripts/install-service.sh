#!/usr/bin/env bash
# Install moodshuffle as a systemd service: /opt/moodshuffle, user moodshuffle,
# /etc/moodshuffle/config.yaml (created from the documented defaults if missing).
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo $0)" >&2; exit 1; }
src="$(cd "$(dirname "$0")/.." && pwd)"
dest=/opt/moodshuffle

id moodshuffle >/dev/null 2>&1 || useradd --system --home-dir /var/lib/moodshuffle --shell /usr/sbin/nologin \
  --groups video,audio moodshuffle
mkdir -p "$dest"
# the repository without its venv and caches
tar -C "$src" --exclude=.venv --exclude=.git --exclude=__pycache__ -cf - . | tar -C "$dest" -xf -
"$dest/scripts/setup.sh"
install -d -m 0755 /etc/moodshuffle
if [ ! -f /etc/moodshuffle/config.yaml ]; then
  sed 's#    - ~/Music#    - /srv/music#' "$dest/config.yaml" > /etc/moodshuffle/config.yaml
  echo "created /etc/moodshuffle/config.yaml (music folder: /srv/music); edit it, then restart"
fi
install -m 0644 "$dest/systemd/moodshuffle.service" /etc/systemd/system/moodshuffle.service
systemctl daemon-reload
systemctl enable --now moodshuffle
systemctl --no-pager status moodshuffle | head -5
