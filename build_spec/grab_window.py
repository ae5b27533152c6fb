"""Save a screenshot of another program's top-level X11 window, found by its title (used by smoke_test.sh).

    python build_spec/grab_window.py "Model Desk" out.png      # needs DISPLAY; prints the window's geometry
"""

from __future__ import annotations

import re
import subprocess
import sys
import time


def find_window(title: str) -> tuple[int, int, str]:
    """The largest window whose title contains `title` (Qt also makes a 1x1 leader window of that name)."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in tree.splitlines():
        m = re.match(r'\s*(0x[0-9a-f]+) "([^"]*)".*?(\d+)x(\d+)\+(-?\d+)\+(-?\d+)', line)
        if m and title in m.group(2):
            w, h = int(m.group(3)), int(m.group(4))
            found.append((w * h, int(m.group(1), 16), f"{m.group(2)} {w}x{h}+{m.group(5)}+{m.group(6)}"))
    if not found:
        raise SystemExit(f"no window titled {title!r} in xwininfo's {tree.count(chr(10))} lines")
    return max(found)


def main(title: str, out: str, timeout: float = 60.0) -> int:
    from PySide6.QtGui import QGuiApplication
    end = time.monotonic() + timeout
    while True:  # the 1x1 leader window can be listed before the main window is mapped
        area, wid, desc = find_window(title)
        if area >= 100 * 100 or time.monotonic() > end:
            break
        time.sleep(0.5)
    if area < 100 * 100:
        raise SystemExit(f"only a {desc} window titled {title!r} after {timeout:.0f} s")
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - grabbing needs the connection to the display
    pixmap = QGuiApplication.primaryScreen().grabWindow(wid)
    if pixmap.isNull() or not pixmap.save(out, "PNG"):
        raise SystemExit(f"could not grab window {wid:#x} into {out}")
    print(f"grabbed {desc} -> {out} ({pixmap.width()}x{pixmap.height()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
