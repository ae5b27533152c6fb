"""The shipped example package (a small custom CNN) trains, predicts and evaluates through the app."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example_package"


def test_example_package_trains_and_evaluates(dl):
    pkg = dl.packages.push(package_name="small-cnn", src_path=EXAMPLE, entry_point="adapter.py",
                           class_name="SmallCNNAdapter",
                           default_configuration={"epochs": 8, "learning_rate": 0.003, "image_size": 32})
    shapes = dl.datasets.get("shapes")
    model = pkg.models.create(model_name="cnn-v1", dataset_id=shapes.id,
                              project_id=dl.projects.get("Sample project").id)
    ex = model.train()
    assert ex.status == "success", ex.logs()
    acc = [s.y for s in model.metrics.list(figure="accuracy", legend="validation")]
    assert len(acc) == 8 and max(acc) > 0.45  # it learns (4 classes: chance is 0.25)
    # the example keeps the best epoch's weights (validation accuracy jumps by 0.2 between epochs on 300 images)
    best = [s.y for s in model.metrics.list(figure="best_accuracy", legend="validation")]
    assert best == [max(acc)]
    ev = model.evaluate(dataset=shapes, filters={"subset": "test"})
    assert ev.status == "success", ev.logs()
    summary = ev.output["summary"]
    assert 0.35 < summary["accuracy"] <= 1.0
    view = model.evaluations.get("shapes-test")
    assert view.summary["accuracy"] == summary["accuracy"]
    n_test = shapes.items.count({"subset": "test"})
    assert sum(row["support"] for row in view.per_class.values()) == n_test
