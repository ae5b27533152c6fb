#!/usr/bin/env bash
# The built app as a user starts it: under X (Xvfb here, QT_QPA_PLATFORM=xcb), on a fresh catalog; wait for
# its window and the sample project, screenshot the window, quit it with SIGTERM, check a clean exit.
#   build_spec/smoke_test.sh [screenshot.png]        (default docs/screenshots/built_app.png)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/docs/screenshots/built_app.png}")"
APP="$ROOT/dist/model-desk/model-desk"
PYTHON="${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python3 )}"
[ -x "$APP" ] || { echo "no build at $APP: run build_spec/build.sh" >&2; exit 2; }
if [ -z "${DISPLAY:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1600x1000x24" "$0" "$@"
fi
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export DESKTOP_APP_HOME="$TMP/catalog" DESKTOP_APP_CONFIG="$TMP/config" QT_QPA_PLATFORM=xcb
unset PYTHONPATH PYTHONHOME

echo "== the command line inside the build"
"$APP" cli --version
"$APP" -m desktop_app --version         # the path the app's own child processes take

echo "== the window"
t0=$(date +%s)
"$APP" --settings "$TMP/window.ini" --no-tour >"$TMP/app.out" 2>&1 &
PID=$!
LOG="$DESKTOP_APP_HOME/logs/app.log"
until [ -f "$LOG" ] && grep -q "opened in the window" "$LOG"; do
  if ! kill -0 "$PID" 2>/dev/null; then echo "the app died:"; cat "$TMP/app.out"; exit 1; fi
  if [ $(( $(date +%s) - t0 )) -gt 600 ]; then echo "no catalog after 600 s"; cat "$TMP/app.out"; exit 1; fi
  sleep 1
done
echo "catalog with the sample project open after $(( $(date +%s) - t0 )) s"
sleep 3                                  # the first paint of the project page
"$PYTHON" "$ROOT/build_spec/grab_window.py" "Model Desk" "$OUT"
kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
echo "exit code $rc"
grep -E "Model Desk starting|opened in the window|signal 15|closed \(exit code" "$DESKTOP_APP_CONFIG/logs/app.log" "$LOG" \
  | sed "s|$TMP|\$TMP|g" | cut -c1-220
if grep -iE "Traceback|error" "$TMP/app.out"; then echo "(stderr above)"; fi
[ "$rc" -eq 0 ] && grep -q "closed (exit code 0)" "$LOG"
echo "OK: started, showed its window, quit cleanly"

echo "== a desktop without Qt's X11 libraries (an empty libxcb-cursor.so.0 first on the loader's path)"
mkdir -p "$TMP/nolibs" && : > "$TMP/nolibs/libxcb-cursor.so.0"
if [ -e "$ROOT/dist/model-desk/_internal/libxcb-cursor.so.0" ]; then
  echo "the build ships libxcb-cursor.so.0 itself: the window does not depend on the system's copy"
else
  # The fallback is the headless demo (a training run): its first lines are enough here.
  LD_LIBRARY_PATH="$TMP/nolibs" timeout 30 "$APP" --no-tour >"$TMP/nolibs.out" 2>&1 || true
  grep -q "sudo apt-get install libxcb-cursor0" "$TMP/nolibs.out" && grep -q "headless demo" "$TMP/nolibs.out" \
    || { echo "no install hint:"; cat "$TMP/nolibs.out"; exit 1; }
  ! grep -q "Could not load the Qt platform plugin" "$TMP/nolibs.out"
  echo "OK: named the missing library and the packages to install, fell back to the headless demo"
fi

echo "== a training job inside the build (scheduler and worker are the build's own -m processes, with torch)"
t0=$(date +%s)
"$APP" cli clone pretrained-resnet --name smoke --set epochs=1 --set image_size=32 --set batch_size=32 \
  --set num_workers=0
"$APP" cli train smoke | tail -3
"$APP" cli models --json | "$PYTHON" -c "import json, sys; m = {r['name']: r for r in json.load(sys.stdin)}; \
assert m['smoke']['status'] == 'trained', m['smoke']; print('smoke:', m['smoke']['status'])"
echo "trained in $(( $(date +%s) - t0 )) s"
echo "OK: all checks passed"
