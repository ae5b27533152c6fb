"""`desktop-app rank / duplicates / leakage / predict` from the command line, over predictions and vectors stored
straight into the catalog (no training): the ranked queue, the groups, the leakage report and its one-step fixes
(all or none), and the errors that name the command making what is missing."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from desktop_app.cli.main import main
from labeling_pool import make_pool, store_predictions, store_vectors



@pytest.fixture
def setup(dl, tmp_path):
    """8 items (ids in order): 0-1 labelled train, 2-5 unlabelled, 6 validation, 7 test; a classifier 'ranker'."""
    return make_pool(dl, tmp_path, model_name="ranker", labelled=(0, 1, 6, 7))


def _vectors(ids):
    """The test item (7) a near copy of train item 0, unlabelled items 2 and 3 near copies of each other."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(len(ids), 16))
    base[7] = base[0] + 0.01 * rng.normal(size=16)
    base[3] = base[2] + 0.01 * rng.normal(size=16)
    return base


def test_rank_lists_the_least_sure_unlabelled_items_first(setup, capsys):
    ds, model, catalog, ids = setup
    store_predictions(catalog, model, ds, {ids[0]: [0.34, 0.33, 0.33], ids[2]: [0.9, 0.05, 0.05],
                                  ids[3]: [0.5, 0.45, 0.05], ids[4]: [0.4, 0.3, 0.3]})     # ids[5]: none
    assert main(["rank", "pool", "--model", "ranker", "--k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["rank"], r["item_id"], round(r["score"], 4)) for r in out["items"]] == [(1, ids[4], 0.9912),
                                                                                    (2, ids[3], 0.7789)]
    assert out["strategy"] == "entropy" and ids[5] in out["unscored"] and out["items"][0]["name"] == "im4.png"

    assert main(["rank", "pool", "--model", "ranker", "--strategy", "margin"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["RANK", "ITEM_ID", "SCORE", "NAME"]
    assert [int(line.split()[1]) for line in lines[1:]] == [ids[3], ids[4], ids[2]]     # 0.95, 0.9, 0.15
    assert "desktop-app predict ranker --dataset pool --unlabeled" in captured.err      # ids[5] has none

    assert main(["rank", "pool", "--model", "ranker", "--all", "--k", "1", "--strategy", "least_confidence",
                 "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["items"][0]
    assert first["item_id"] == ids[0] and first["subset"] == "train" and first["score"] == pytest.approx(0.66)


def test_rank_without_predictions_or_vectors_names_the_command_that_makes_them(setup, capsys):
    ds, model, catalog, ids = setup
    assert main(["rank", "pool", "--model", "ranker"]) == 2
    err = capsys.readouterr().err
    assert "no stored predictions on the 4 unlabelled items" in err
    assert "`desktop-app predict ranker --dataset pool --unlabeled`" in err
    store_predictions(catalog, model, ds, {ids[2]: [0.9, 0.05, 0.05]})
    assert main(["rank", "pool", "--model", "ranker", "--diversity", "0.5"]) == 2
    assert "`desktop-app embed ranker --dataset pool --wait`" in capsys.readouterr().err


def test_rank_with_diversity_spreads_the_picks_over_the_embeddings(setup, capsys):
    ds, model, catalog, ids = setup
    store_vectors(catalog, model, ids, _vectors(ids))
    store_predictions(catalog, model, ds, {ids[2]: [0.34, 0.33, 0.33], ids[3]: [0.35, 0.33, 0.32],
                                  ids[4]: [0.8, 0.1, 0.1], ids[5]: [0.9, 0.05, 0.05]})
    assert main(["rank", "pool", "--model", "ranker", "-k", "2", "--json"]) == 0
    assert [r["item_id"] for r in json.loads(capsys.readouterr().out)["items"]] == [ids[2], ids[3]]
    assert main(["rank", "pool", "--model", "ranker", "-k", "2", "--diversity", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    picked = {r["item_id"] for r in out["items"]}
    assert out["diversity"] == 1.0 and len({ids[2], ids[3]} & picked) == 1 and len({ids[4], ids[5]} & picked) == 1


def test_duplicates_lists_the_groups(setup, capsys):
    ds, model, catalog, ids = setup
    assert main(["duplicates", "pool", "--model", "ranker"]) == 2
    assert "`desktop-app embed ranker --dataset pool --wait`" in capsys.readouterr().err
    store_vectors(catalog, model, ids, _vectors(ids))
    assert main(["duplicates", "pool", "--model", "ranker", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert sorted(sorted(i["item_id"] for i in g["items"]) for g in groups) == sorted(
        [sorted([ids[0], ids[7]]), sorted([ids[2], ids[3]])])
    assert all(0 <= g["max_distance"] <= 0.05 and len(g["pairs"]) == 1 for g in groups)
    assert main(["duplicates", "pool", "--model", "ranker"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].split() == ["GROUP", "ITEM_ID", "SUBSET", "MAX_DISTANCE", "NAME"]
    assert "im7.png" in captured.out and "2 group(s), 4 items" in captured.err
    assert main(["duplicates", "pool", "--model", "ranker", "--threshold", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_leakage_reports_then_moves_the_leaking_items(setup, capsys):
    ds, model, catalog, ids = setup
    store_vectors(catalog, model, ids, _vectors(ids))
    assert main(["leakage", "pool", "--model", "ranker"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].split() == ["ITEM_ID", "SUBSET", "DISTANCE", "TWIN_ID", "NAME", "TWIN_NAME"]
    assert captured.out.splitlines()[1].split()[:2] == [str(ids[7]), "test"] and "--move-to train" in captured.err
    assert main(["leakage", "pool", "--model", "ranker", "--move-to", "train", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["item_id"], r["subset"], r["twin_id"], r["twin_name"]) for r in out["leaks"]] == [
        (ids[7], "test", ids[0], "im0.png")]
    assert (out["moved_to"], out["moved"]) == ("train", [ids[7]]) and catalog.get_item(ids[7]).subset == "train"
    assert main(["leakage", "pool", "--model", "ranker", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["leaks"] == []          # fixed


def test_leakage_drop_asks_for_yes_and_changes_nothing_on_failure(setup, capsys, home):
    ds, model, catalog, ids = setup
    vectors = _vectors(ids)
    vectors[6] = vectors[1] + 0.01 * np.random.default_rng(1).normal(size=16)    # validation item 6 leaks too
    store_vectors(catalog, model, ids, vectors)
    assert main(["leakage", "pool", "--model", "ranker", "--move-to", "test", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["moved"] == [ids[6]] and catalog.get_item(ids[6]).subset == "test"      # the test item stays
    catalog.set_subset([ids[6]], "validation")
    assert main(["leakage", "pool", "--model", "ranker", "--drop"]) == 2
    assert "add --yes" in capsys.readouterr().err and catalog.count_items(ds.id) == 8
    with pytest.raises(SystemExit, match="2"):                                        # one fix at a time
        main(["leakage", "pool", "--move-to", "train", "--drop", "--model", "ranker"])
    assert "not allowed with" in capsys.readouterr().err

    # the second item's change fails (as a full disk would): neither item changes
    conn = sqlite3.connect(home / "catalog.db")
    conn.execute(f"CREATE TRIGGER fail_move BEFORE UPDATE ON items WHEN NEW.id = {ids[7]} "
                 f"BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    conn.execute(f"CREATE TRIGGER fail_drop BEFORE DELETE ON items WHEN OLD.id = {ids[7]} "
                 f"BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        main(["leakage", "pool", "--model", "ranker", "--move-to", "train"])
    assert [catalog.get_item(i).subset for i in (ids[6], ids[7])] == ["validation", "test"]
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        main(["leakage", "pool", "--model", "ranker", "--drop", "--yes"])
    assert catalog.count_items(ds.id) == 8
    conn.execute("DROP TRIGGER fail_move")
    conn.execute("DROP TRIGGER fail_drop")
    conn.commit()
    conn.close()
    capsys.readouterr()

    assert main(["leakage", "pool", "--model", "ranker", "--drop", "--yes"]) == 0
    assert "deleted 2 item(s)" in capsys.readouterr().out
    assert catalog.count_items(ds.id) == 6 and {ids[6], ids[7]}.isdisjoint(catalog.item_ids(ds.id))


def test_predict_then_rank_from_the_command_line(dl, tmp_path, capsys):
    from embedding_models import resnet_with_weights
    model, ds = resnet_with_weights(dl, tmp_path, name="cli-predictor")
    test_ids = dl.default_client().catalog.item_ids(ds.id, subset="test")
    assert main(["predict", "cli-predictor", "--dataset", "shapes", "--subset", "test", "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["status"] == "success", job["error"]
    assert job["output"]["items"] == len(test_ids)
    assert main(["rank", "shapes", "--model", "cli-predictor", "--all", "-k", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["strategy"] == "entropy" and len(out["items"]) == 3     # the built-ins keep every class's probability
    assert {r["item_id"] for r in out["items"]} <= set(test_ids)
    assert [r["score"] for r in out["items"]] == sorted((r["score"] for r in out["items"]), reverse=True)
