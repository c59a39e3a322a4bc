#!/usr/bin/env bash
# Installs Debian's Chromium (static figure images, figure export, the browser test), if missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "[chromium] already installed: $(chromium --version 2>/dev/null || echo chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[chromium] no apt-get here: install Chromium with your system's package manager and make sure 'chromium' is on PATH (or set DGR_CHROMIUM=/path/to/chrome)." >&2
  exit 1
fi
echo "[chromium] installing Debian's chromium with apt-get (about a minute) ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
echo "[chromium] installed: $(chromium --version 2>/dev/null)"
