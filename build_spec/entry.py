"""The built application's entry point: the window; `-m module ...` for the processes the app starts itself
(job scheduler, workers, inference services, pipelines, off-process package push all run
`sys.executable -m desktop_app....`, and in a build sys.executable is this program); `cli ...` for the
command line (model-desk cli models list)."""

from __future__ import annotations

import multiprocessing
import runpy
import sys


def main() -> int:
    multiprocessing.freeze_support()      # torch.multiprocessing's spawned children (data-parallel training)
    argv = sys.argv[1:]
    if len(argv) >= 2 and argv[0] == "-m":
        module, rest = argv[1], argv[2:]
        sys.argv = [sys.argv[0], *rest]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    if argv[:1] == ["-u"]:                 # unbuffered: the build's output is unbuffered anyway
        sys.argv = [sys.argv[0], *argv[1:]]
        return main()
    if argv[:1] == ["cli"]:
        from desktop_app.cli.main import main as cli_main
        return int(cli_main(argv[1:]) or 0)
    from desktop_app.cli.display import window_problem
    problem = window_problem()            # no screen, or Qt's X11 libraries missing: say what to install
    if problem:
        print(problem, file=sys.stderr)
        from desktop_app.cli.demo import run_demo
        return run_demo()
    from desktop_app.gui.app import run
    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
