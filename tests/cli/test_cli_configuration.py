"""--set with a misspelt hyper-parameter is refused (closest name suggested) before anything is stored or queued."""

from __future__ import annotations

from desktop_app.cli.main import main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_clone_with_a_misspelt_key_is_refused(client, capsys):
    before = len(client.catalog.find_models())
    code, _, err = run(capsys, "clone", "pretrained-resnet", "--name", "typo", "--set", "image_siz=32")
    assert code == 2 and "image_siz" in err and "did you mean 'image_size'" in err
    assert len(client.catalog.find_models()) == before
    code, _, err = run(capsys, "clone", "pretrained-resnet", "--name", "ok", "--set", "image_size=32")
    assert code == 0, err
    assert client.models.get("ok").configuration["image_size"] == 32


def test_train_with_a_misspelt_key_is_refused_before_any_job(client, capsys):
    before = client.models.get("pretrained-tinydet").configuration
    code, _, err = run(capsys, "train", "pretrained-tinydet", "--set", "epoch=1", "--no-wait")
    assert code == 2 and "epoch: unknown hyper-parameter" in err and "'epochs'" in err
    assert client.models.get("pretrained-tinydet").configuration == before
    assert client.catalog.list_executions() == []
