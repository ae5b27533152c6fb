"""The window's prerequisites are checked before Qt can abort: missing X11 libraries are named with the install
line for the common distributions, and the main job falls back to the headless demo."""

from __future__ import annotations

import subprocess
import sys

import pytest

from desktop_app.cli import commands, display

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 libraries are a Linux matter")


def test_a_damaged_library_on_the_loader_path_is_found_missing_by_the_real_loader(tmp_path):
    # An empty file named like the library, first on LD_LIBRARY_PATH, is what the loader (and so Qt) would open.
    (tmp_path / "libxcb-cursor.so.0").write_bytes(b"")
    code = "from desktop_app.cli.display import missing_xcb_libraries as m; print(m())"
    env = {"LD_LIBRARY_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['libxcb-cursor.so.0']"


def test_the_hint_names_each_missing_library_and_the_packages_for_four_distributions():
    hint = display.install_hint(["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in hint
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in hint
    assert "sudo dnf install xcb-util-cursor xcb-util-wm" in hint
    assert "sudo pacman -S xcb-util-cursor xcb-util-wm" in hint
    assert "sudo zypper install libxcb-cursor0 libxcb-icccm4" in hint


@pytest.mark.parametrize("env, xcb", [
    ({"DISPLAY": ":0"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, True),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, False),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, False),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "QT_QPA_PLATFORM": "xcb"}, True),
])
def test_the_check_runs_only_where_qt_would_pick_its_x11_plugin(monkeypatch, env, xcb):
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert display.uses_xcb() is xcb


def test_the_main_job_falls_back_to_the_headless_demo_and_says_what_to_install(monkeypatch, capsys):
    for k in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(display, "_loads", lambda soname: soname != "libxcb-keysyms.so.1")
    ran = []
    from desktop_app.cli import demo
    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: ran.append("demo") or 0)
    import desktop_app.gui.app as gui_app
    monkeypatch.setattr(gui_app, "run", lambda *a: pytest.fail("the window must not be tried"))
    assert commands.open_gui(None) == 0
    assert ran == ["demo"]
    err = capsys.readouterr().err
    assert "libxcb-keysyms.so.1" in err and "sudo apt-get install libxcb-keysyms1" in err
    assert "headless demo" in err


def test_with_every_library_present_the_window_is_tried(monkeypatch):
    for k in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    assert display.window_problem(lambda soname: True) is None
