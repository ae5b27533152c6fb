"""A pipeline run resumed while its earlier runner is still exiting keeps that runner's Popen until it is reaped."""

from types import SimpleNamespace

from desktop_app.pipelines import launch


def test_resume_keeps_the_exiting_runner_until_reaped(monkeypatch, tmp_path):
    procs = []

    class FakePopen:
        def __init__(self, *args, **kwargs):
            self.pid, self.code = 1000 + len(procs), None
            procs.append(self)

        def poll(self):
            return self.code

    monkeypatch.setattr(launch, "_children", {})
    monkeypatch.setattr(launch.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(launch.lock, "set_owner", lambda *args: True)
    catalog = SimpleNamespace(logs_dir=tmp_path, home=tmp_path)
    launch.spawn(catalog, "r1")
    launch.spawn(catalog, "r1")            # resumed while the first runner is still exiting
    assert list(launch._children["r1"]) == procs   # the old Popen is not dropped while it runs
    procs[0].code = 0
    launch.spawn(catalog, "r2")            # every spawn reaps first
    assert launch._children["r1"] == [procs[1]]
    procs[1].code = procs[2].code = 0
    launch.reap()
    assert launch._children == {}
