"""Can the window open here? A screen, and on Linux X11 the system libraries Qt's xcb plugin loads.

Qt aborts the whole process ("Could not load the Qt platform plugin xcb") when one of these is missing, before
any of our code could explain it, so we look first, without importing Qt: each library is opened by its soname
the way the dynamic loader will open it for the plugin.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Callable, Sequence

# soname -> package that ships it on (Debian / Ubuntu, Fedora / RHEL, Arch, openSUSE).
XCB_LIBRARIES: dict[str, tuple[str, str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor", "libxcb-cursor0"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm", "libxcb-icccm4"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms", "libxcb-keysyms1"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image", "libxcb-image0"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil",
                                "libxcb-render-util0"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util", "libxcb-util1"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11",
                              "libxkbcommon-x11-0"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb", "libxcb-xkb1"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb", "libxcb-randr0"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb", "libxcb-shape0"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb", "libxcb-xfixes0"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11", "libX11-xcb1"),
    "libGL.so.1": ("libgl1", "mesa-libGL", "libglvnd", "libGL1"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd", "libEGL1"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig", "libfontconfig1"),
}
_DISTROS = (("Debian / Ubuntu", "sudo apt-get install"), ("Fedora / RHEL", "sudo dnf install"),
            ("Arch", "sudo pacman -S"), ("openSUSE", "sudo zypper install"))


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def uses_xcb() -> bool:
    """Whether Qt will pick its X11 (xcb) plugin here: Linux with an X display, not a Wayland session."""
    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(";")[0].split(":")[0] == "xcb"
    wayland = os.environ.get("WAYLAND_DISPLAY") and os.environ.get("XDG_SESSION_TYPE") == "wayland"
    return bool(os.environ.get("DISPLAY")) and not wayland


def _bundled_dirs() -> list[str]:
    """Where a double-click build keeps the libraries it ships (found by the plugin's RUNPATH, not by soname)."""
    root = getattr(sys, "_MEIPASS", None)
    return [root, os.path.join(root, "PySide6", "Qt", "lib")] if root else []


def _loads(soname: str) -> bool:
    for candidate in [soname, *(os.path.join(d, soname) for d in _bundled_dirs())]:
        if candidate != soname and not os.path.exists(candidate):
            continue
        try:
            ctypes.CDLL(candidate)
        except OSError:
            continue
        return True
    return False


def missing_xcb_libraries(loads: Callable[[str], bool] | None = None) -> list[str]:
    """The sonames from XCB_LIBRARIES the dynamic loader cannot open (a damaged file counts as missing)."""
    loads = loads or _loads
    return [name for name in XCB_LIBRARIES if not loads(name)]


def install_hint(missing: Sequence[str]) -> str:
    """What to tell a user: which libraries are missing and the install line for the common distributions."""
    lines = [f"The window cannot open: Qt's X11 plugin needs system libraries that are missing here: "
             f"{', '.join(missing)}.", "Install them, then start desktop-app again:"]
    for col, (distro, installer) in enumerate(_DISTROS):
        packages = sorted({XCB_LIBRARIES[m][col] for m in missing if m in XCB_LIBRARIES})
        lines.append(f"  {distro + ':':17} {installer} {' '.join(packages)}")
    return "\n".join(lines)


def window_problem(loads: Callable[[str], bool] | None = None) -> str | None:
    """None when the window can be tried, else the message explaining why not (no screen, missing libraries)."""
    if not has_display():
        return "No display found: running the headless demo instead of the window (desktop-app demo)."
    if uses_xcb():
        missing = missing_xcb_libraries(loads)
        if missing:
            return (install_hint(missing) + "\nMeanwhile: running the headless demo instead of the window "
                    "(desktop-app demo).")
    return None
