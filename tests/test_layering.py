"""The core never imports Qt, and the SDK / CLI work with PySide6 absent; torch stays out of start-up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contract_holds():
    exe = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(exe)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "KEPT" in out.stdout


BLOCK_QT = textwrap.dedent("""
    import sys, importlib.abc
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt', 'shiboken6'):
                raise ImportError('blocked: ' + name)
    sys.meta_path.insert(0, Block())
""")


def test_sdk_and_cli_run_with_pyside6_absent(tmp_path):
    script = BLOCK_QT + textwrap.dedent("""
        import desktop_app.sdk as dl
        from desktop_app.cli.main import main
        import desktop_app.catalog, desktop_app.formats, desktop_app.evaluation, desktop_app.jobs.runner
        import desktop_app.ml.adapter, desktop_app.evaluation.run, desktop_app.evaluation.store
        p = dl.projects.create('headless')
        assert main(['projects', 'list']) == 0
        print('torch' in sys.modules)
    """)
    env = {"DESKTOP_APP_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "headless" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "False"  # and no torch either
