#!/usr/bin/env bash
# Add Model Desk to this user's application menu: the .desktop entry (Exec pointing at this folder's
# model-desk) and the icons, under ~/.local/share. Run from the built folder (dist/model-desk).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
[ -x "$HERE/model-desk" ] || { echo "run this from the built folder (model-desk not found in $HERE)" >&2; exit 2; }
mkdir -p "$DATA/applications" "$DATA/icons/hicolor/scalable/apps"
for png in "$HERE"/icons/model-desk-*.png; do
  n="$(basename "$png" .png)"; n="${n##*-}"
  mkdir -p "$DATA/icons/hicolor/${n}x${n}/apps"
  cp "$png" "$DATA/icons/hicolor/${n}x${n}/apps/model-desk.png"
done
cp "$HERE/icons/model-desk.svg" "$DATA/icons/hicolor/scalable/apps/model-desk.svg"
sed "s|^Exec=.*|Exec=\"$HERE/model-desk\"|" "$HERE/model-desk.desktop" > "$DATA/applications/model-desk.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$DATA/icons/hicolor" || true
echo "installed $DATA/applications/model-desk.desktop"
