#!/usr/bin/env bash
# Build Model Desk as a one-folder application: dist/model-desk/model-desk (+ the .desktop entry and icons).
#   build_spec/build.sh            # uses .venv/bin/python if there is one, else python3
#   PYTHON=/path/to/python build_spec/build.sh
# Needs pyinstaller in that environment (pip install pyinstaller). Output: build/ (scratch) and dist/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
"$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || {
  echo "PyInstaller is not installed for $PYTHON: $PYTHON -m pip install pyinstaller" >&2; exit 2; }

start=$(date +%s)
mkdir -p build
# What the About box shows: the commit and the date of this build.
commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit+local changes"; fi
"$PYTHON" - "$commit" > build/build_info.json <<'PY'
import json, sys, datetime
print(json.dumps({"commit": sys.argv[1],
                  "build_date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}))
PY

# The PNG icons come from the SVG; render them if the SVG is newer.
if [ resources/icons/model-desk.svg -nt resources/icons/model-desk-256.png ]; then
  "$PYTHON" tools/render_icons.py
fi

"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller build_spec/model_desk.spec

APP=dist/model-desk
cp build_spec/model-desk.desktop "$APP/"
cp build_spec/install-desktop-entry.sh "$APP/"
mkdir -p "$APP/icons"
cp resources/icons/model-desk.svg resources/icons/model-desk-*.png "$APP/icons/"
end=$(date +%s)
echo "built $APP in $((end - start)) s: $(du -sh "$APP" | cut -f1)"
echo "run it: $APP/model-desk    install the menu entry: $APP/install-desktop-entry.sh"
