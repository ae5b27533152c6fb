"""`desktop-app embed MODEL --dataset D --wait` runs the embed job (only items not embedded yet); `similar ITEM
--model M` lists the nearest items, the item itself first."""

from __future__ import annotations

import json

from desktop_app.cli.main import main
from desktop_app.workflows.embed import embed
from embedding_models import resnet_with_weights


def test_embed_then_similar_from_the_command_line(dl, tmp_path, capsys):
    model, ds = resnet_with_weights(dl, tmp_path, name="cli-embedder")
    cat = dl.default_client().catalog
    test_ids = cat.item_ids(ds.id, subset="test")
    embed(cat, model.id, item_ids=test_ids[:-3])                 # most of them before: the job embeds the rest
    assert main(["embed", "cli-embedder", "--dataset", "shapes", "--subset", "test", "--wait", "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["status"] == "success", job["error"]
    assert (job["output"]["embedded"], job["output"]["skipped"]) == (3, len(test_ids) - 3)
    assert job["output"]["count"] == len(test_ids)

    assert main(["similar", str(test_ids[-1]), "--model", "cli-embedder", "-k", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["item_id"] == test_ids[-1] and abs(rows[0]["distance"]) < 1e-5
    assert main(["similar", str(test_ids[0]), "--model", "cli-embedder", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["RANK", "ITEM_ID", "DISTANCE", "NAME"] and str(test_ids[0]) in out


def test_similar_without_embeddings_says_how_to_make_them(dl, tmp_path, capsys):
    model, ds = resnet_with_weights(dl, tmp_path, name="not-embedded")
    item = dl.default_client().catalog.item_ids(ds.id)[0]
    assert main(["similar", str(item), "--model", "not-embedded"]) == 2
    assert "desktop-app embed not-embedded --dataset" in capsys.readouterr().err
