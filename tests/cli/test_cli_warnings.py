"""Warnings reach the terminal as one plain line, "warning: ...", without the source file, line and code that
Python's own format prints."""

from __future__ import annotations

import io
import warnings
from types import SimpleNamespace

from desktop_app.cli.main import main, show_warning
from desktop_app.domain.status import ExecutionStatus

ORIGIN = ("No pretrained weights for resnet18 on this computer (looked for resnet18-f37072fd.pth in /cache); "
          "Model Desk never downloads, so resnet18 starts from random initialisation.")


def test_train_says_the_weights_warning_in_one_plain_line(client, capsys, monkeypatch):
    from desktop_app.jobs import runner

    def finished_job(catalog, model_id, **_):
        """A training that ran and found no pretrained weights, as the worker records it on the model."""
        catalog.update_model(model_id, metadata={"weights_origin": ORIGIN})
        return SimpleNamespace(id="job1", status=ExecutionStatus.SUCCESS, error=None)

    monkeypatch.setattr(runner, "submit_train", finished_job)
    before = warnings.showwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")     # the suite makes warnings errors; a user's terminal shows them
        assert main(["train", "pretrained-resnet"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "execution job1: success"
    assert err == f"warning: model 'pretrained-resnet': {ORIGIN}\n"
    assert warnings.showwarning is before    # put back when the command ends


def test_show_warning_format():
    stream = io.StringIO()
    show_warning(UserWarning("plain words"), UserWarning, "/x/y.py", 3, file=stream)
    show_warning(DeprecationWarning("old call"), DeprecationWarning, "/x/y.py", 4, file=stream, line="f()")
    assert stream.getvalue() == "warning: plain words\nwarning: DeprecationWarning: old call\n"
