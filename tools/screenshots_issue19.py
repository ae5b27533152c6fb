"""Screenshots of finding the best model (issue 19): the leaderboard, parallel coordinates, the scatter, a sweep page
and a model page's aliases, tags and notes, to look at.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_issue19.py \
        [--out docs/screenshots]

A fresh catalog in a temp folder with the sample project; ten clones of pretrained-resnet with their learning rate,
batch size, optimizer and epochs, and validation curves logged directly (no training, so the numbers are made up
but shaped like real ones: a learning rate near 3e-3 does best); a 3 x 2 grid sweep whose trials are made the same
way, two of them still running.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

LRS = [0.1, 0.03, 0.01, 0.003, 0.001, 0.0003]


def accuracy_for(lr: float, batch: int, rnd: random.Random) -> float:
    """A made-up final accuracy peaking near lr 3e-3, a little better with smaller batches."""
    return 0.93 - 0.11 * abs(math.log10(lr) + 2.5) - (0.015 if batch >= 64 else 0.0) + rnd.uniform(-0.03, 0.03)


def log_curves(cat, model_id: str, final: float, epochs: int) -> None:
    rows = []
    for e in range(epochs):
        f = (e + 1) / epochs
        acc = final * (0.72 + 0.28 * f ** 0.7)
        rows += [{"figure": "accuracy", "legend": "validation", "x": (e + 1) * 60, "y": acc, "epoch": e + 1},
                 {"figure": "loss", "legend": "validation", "x": (e + 1) * 60, "y": (1.25 - acc) * 1.4,
                  "epoch": e + 1},
                 {"figure": "loss", "legend": "train", "x": (e + 1) * 60, "y": (1.2 - acc) * (1.5 - 0.4 * f),
                  "epoch": e + 1}]
    cat.add_metric_samples(model_id, rows)


def fill(client) -> dict:
    """Ten models with metrics, tags and an alias; a grid sweep with six trials. Returns names -> ids."""
    from desktop_app.catalog.dataset_versions import DatasetVersions
    from desktop_app.catalog.sweeps import queries

    cat = client.catalog
    rnd = random.Random(19)
    base = client.models.get("pretrained-resnet")
    ids, finals = {}, {}
    for k in range(10):
        lr, batch, epochs = LRS[k % 6], [16, 32, 64][k % 3], [4, 6, 8][k % 3]
        optimizer = ["adam", "sgd"][k % 2]
        m = base.clone(model_name=f"shapes-resnet-v{k + 1}",
                       configuration={"learning_rate": lr, "batch_size": batch, "epochs": epochs,
                                      "optimizer": optimizer})
        if k in (3, 9):
            m.tags = ["candidate"]
            m.update()
        cat.set_model_status(m.id, "trained")
        finals[m.name] = accuracy_for(lr, batch, rnd)
        log_curves(cat, m.id, finals[m.name], epochs)
        DatasetVersions(cat).record_model(m.id, "v2-relabelled" if k >= 5 else "v1")
        ids[m.name] = m.id
    best = max(finals, key=finals.get)
    cat.set_alias(base.package_id, "production", ids[best], who="user", reason="best validation accuracy")
    cat.update_model(ids["shapes-resnet-v4"], notes="lr 3e-3 with adam: best so far; try 8 epochs next.")

    space = {"learning_rate": {"type": "choice", "values": [0.01, 0.003, 0.001]},
             "batch_size": {"type": "choice", "values": [16, 32]}}
    sweep = queries(cat).create(project_id=base.project_id, name="lr-batch", base_model_id=base.id, method="grid",
                                space=space, objective="validation/accuracy", direction="maximize", budget=6)
    trial = 0
    for lr in space["learning_rate"]["values"]:
        for batch in space["batch_size"]["values"]:
            trial += 1
            params = {"learning_rate": lr, "batch_size": batch}
            m = cat.create_model(f"lr-batch-{trial}", project_id=base.project_id, package_id=base.package_id,
                                 configuration={**base.configuration, **params, "epochs": 6}, labels=base.labels,
                                 parent_id=base.id, dataset_id=base.dataset_id,
                                 metadata={"sweep": {"id": sweep.id, "name": sweep.name, "trial": trial,
                                                     "params": params}})
            queries(cat).set_model_sweep(m.id, sweep.id)
            ex = cat.create_execution("train", model_id=m.id)
            if trial <= 5:
                cat.set_execution_status(ex.id, "in-progress", pid=os.getpid())
                log_curves(cat, m.id, accuracy_for(lr, batch, rnd), 6 if trial <= 4 else 3)
            if trial <= 4:
                cat.set_execution_status(ex.id, "success")
                cat.set_model_status(m.id, "trained")
            ids[m.name] = m.id
    ids["sweep"] = sweep.id
    return ids


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="shots-issue19-"))
    os.environ["DESKTOP_APP_HOME"] = str(work / "catalog")
    os.environ["DESKTOP_APP_CONFIG"] = str(work / "config")

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.settings_store import SettingsStore
    from desktop_app.gui.style import apply_style
    from desktop_app.sdk import Client
    from screenshots import ShotContext

    app = QApplication.instance() or QApplication(sys.argv)
    apply_style(app)
    client = Client(home=work / "catalog")
    client.create_sample_project()
    ids = fill(client)
    project = client.sample_project.id
    window = MainWindow(SettingsStore(work / "gui.ini"), jobs_interval=0.3, metrics_interval=0.3)
    window.resize(1400, 900)
    window.use_client(client)
    window.show()
    window.jobs_action.setChecked(False)
    window.jobs.setVisible(False)               # the leaderboard gets the height
    ctx = ShotContext(app, window, client, out)
    ctx.process(1.0)
    window.main.setSizes([300, 1100])           # the navigator wide enough for the models' names

    window.navigate("leaderboard", project)
    lb = window.pages.currentWidget()
    lb.apply_search("params.learning_rate <= 0.03 and status = 'trained'")
    lb.table.sortByColumn(lb.model.columns.index("metrics.`validation/accuracy`"), Qt.SortOrder.DescendingOrder)
    lb.select_ids([ids["shapes-resnet-v10"], ids["lr-batch-4"]])
    ctx.grab(window, "issue19-leaderboard")

    lb.apply_search("status = 'trained'")
    lb.set_columns(["status", "params.learning_rate", "params.batch_size", "params.optimizer", "params.epochs",
                    "metrics.`validation/loss`", "metrics.`validation/accuracy`", "alias", "tags"])
    lb.parallel.set_brush("metrics.`validation/accuracy`", 0.8, 1.0)
    lb.split.setSizes([150, 700])               # the chart gets the height for its picture
    ctx.process(0.5)
    ctx.grab(lb.charts, "issue19-parallel-coordinates")
    lb.clear_brushing()
    lb.charts.setCurrentWidget(lb.scatter)
    lb.scatter.set_data(lb.rows, lb.parallel.columns, x="params.learning_rate", y="metrics.`validation/accuracy`",
                        color_by="params.batch_size")
    ctx.grab(lb.charts, "issue19-scatter")

    window.navigate("sweep", ids["sweep"])
    ctx.grab(window, "issue19-sweep")

    window.navigate("model", ids["shapes-resnet-v4"])
    ctx.grab(window, "issue19-model-aliases-notes")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
