"""desktop-app pipelines list | create | run | runs | history | rollback | serve."""

from __future__ import annotations

import desktop_app.cli.pipeline_commands  # noqa: F401  (registers `pipelines`, as cli/commands.py will)
from desktop_app.cli.main import main


def test_pipelines_from_the_command_line(dl, champion, capsys):
    assert main(["pipelines", "create", "cli", "--champion", champion.id, "--set", "skill=0.9", "--max-items", "24",
                 "--max-class-drop", "0.5", "--trigger", "annotations:5"]) == 0
    assert "pipeline cli" in capsys.readouterr().out
    p = dl.pipelines.get("cli")
    assert p.definition.training == {"skill": 0.9} and p.definition.gate["max_class_drop"] == 0.5

    assert main(["pipelines", "list"]) == 0
    out = capsys.readouterr().out
    assert "cli" in out and champion.name in out and "after 5 reviewed" in out

    assert main(["pipelines", "run", "cli"]) == 0
    out = capsys.readouterr().out
    assert "promoted" in out and "accuracy" in out
    run = p.last_run
    assert main(["pipelines", "runs", "cli"]) == 0
    assert run.id in capsys.readouterr().out
    assert main(["pipelines", "runs", "--run", run.id]) == 0
    out = capsys.readouterr().out
    assert "snapshot" in out and "promote" in out

    assert main(["pipelines", "history", "cli"]) == 0
    assert "pipeline:cli" in capsys.readouterr().out
    assert main(["pipelines", "rollback", "cli", "--reason", "test"]) == 0
    assert f"-> {champion.name}" in capsys.readouterr().out
    assert p.champion == champion

    assert main(["pipelines", "serve", "--once"]) == 0
    assert "checking pipeline triggers" in capsys.readouterr().out
    assert main(["pipelines", "run", "no-such-pipeline"]) == 2
    assert "no pipeline" in capsys.readouterr().err
