#!/usr/bin/env bash
# Installs Debian's Chromium (static figure images, figure export, the browser test) when no
# Chrome/Chromium/Edge is found. `npm install` runs it by itself on Debian/Ubuntu as root;
# elsewhere run it by hand: npm run install-chromium (uses sudo when not root).
set -euo pipefail
cd "$(dirname "$0")/.."
found() { node -e "try { console.log(require('./build/lib/figures/chromium').findChromium()) } catch { process.exit(1) }" 2>/dev/null; }
if [ -f build/lib/figures/chromium.js ] && path=$(found); then
  echo "[chromium] already installed: $path"
  exit 0
elif command -v chromium >/dev/null 2>&1; then
  echo "[chromium] already installed: $(command -v chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[chromium] no apt-get here: install Chrome, Chromium or Edge with your system's package" \
    "manager, or set DGR_CHROMIUM=/path/to/chrome." >&2
  exit 1
fi
echo "[chromium] installing Debian's chromium with apt-get (about a minute) ..."
$SUDO apt-get update -qq
# Debian names the package chromium; Ubuntu only has chromium-browser (a snap wrapper).
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium-browser >/dev/null
fi
for c in chromium chromium-browser; do
  if command -v "$c" >/dev/null 2>&1 && "$c" --version >/dev/null 2>&1; then
    echo "[chromium] installed: $("$c" --version)"
    exit 0
  fi
done
echo "[chromium] apt-get finished but no working chromium is on the PATH; set DGR_CHROMIUM." >&2
exit 1
