"""Screenshots of package versions, queued jobs, the batch loss and a canceled training, to look at (issue 18).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots_versions.py \
        --out .tmp/shots24

A fresh catalog in a temp folder with the sample project; the tests' tiny 'centroid' package pushed twice (two
versions) and a 'batchy' package written here that logs a batch loss as the built-ins do, so nothing loads torch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
CENTROID_DIR = ROOT / "tests" / "jobs" / "centroid_package"

BATCHY = '''
import time
import desktop_app.sdk as dl


class BatchyAdapter(dl.BaseModelAdapter):
    """Logs train_batch/loss every batch, train/loss and validation/accuracy every epoch (as the built-ins)."""

    def load(self, local_path, **kwargs):
        pass

    def save(self, local_path, **kwargs):
        pass

    def train(self, data_path, output_path, **kwargs):
        epochs, batches = int(self.configuration.get("epochs", 6)), 5
        for e in range(epochs):
            losses = []
            for b in range(batches):
                if self.should_stop():
                    return
                time.sleep(float(self.configuration.get("sleep", 0.4)))
                losses.append(1.0 / (e + 1) + 0.05 * ((b * 7) % 5) - 0.1)
                self.log_metrics(e * batches + b + 1, epoch=e + (b + 1) / batches,
                                 **{"train_batch/loss": losses[-1]})
            self.log_metrics((e + 1) * batches, epoch=e + 1, **{"train/loss": sum(losses) / batches,
                                                               "validation/accuracy": 0.5 + 0.05 * e})
            kwargs["on_epoch_end_callback"](e, epochs)

    def predict(self, batch, **kwargs):
        return [dl.AnnotationCollection() for _ in batch]
'''


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / ".tmp" / "shots24"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="shots-versions-"))
    os.environ["DESKTOP_APP_HOME"] = str(work / "catalog")
    os.environ["DESKTOP_APP_CONFIG"] = str(work / "config")
    os.environ["DESKTOP_APP_CPU_JOBS"] = "1"        # one job at a time: the second waits, queued

    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.settings_store import SettingsStore
    from desktop_app.sdk import Client
    from screenshots import ShotContext

    client = Client(home=work / "catalog")
    client.create_sample_project()
    shapes = client.datasets.get("shapes")
    project = client.sample_project
    push = dict(package_name="centroid", src_path=CENTROID_DIR, entry_point="adapter.py",
                class_name="CentroidAdapter", output_type="class")
    pkg = client.packages.push(**push, default_configuration={"epochs": 3, "sleep": 0.5})
    centroid = pkg.models.create(model_name="centroid-v1", dataset_id=shapes.id, project_id=project.id,
                                 labels=shapes.labels)
    client.packages.push(**push, description="second version: same code, a new description")
    batchy_dir = work / "batchy"
    batchy_dir.mkdir()
    (batchy_dir / "adapter.py").write_text(BATCHY)
    bp = client.packages.push(package_name="batchy", src_path=batchy_dir, entry_point="adapter.py",
                              default_configuration={"epochs": 8, "sleep": 0.5}, output_type="class")
    batchy = bp.models.create(model_name="batchy-v1", dataset_id=shapes.id, project_id=project.id,
                              labels=shapes.labels)

    app = QApplication.instance() or QApplication(["model-desk"])
    window = MainWindow(SettingsStore(work / "gui-settings.ini"), jobs_interval=0.25, metrics_interval=0.25)
    window.move(0, 0)
    window.resize(1400, 900)
    window.show()
    window.use_client(client)
    ctx = ShotContext(app, window, client, out)

    window.navigate("package", pkg.id)
    ctx.grab(window, "01-package-versions")
    dlg = window.open_package_dialog(str(CENTROID_DIR))
    dlg.name.setText("centroid")
    ctx.grab_over(dlg, "02-package-dialog-new-version")
    dlg.name.setText("resnet")
    ctx.grab_over(dlg, "03-package-dialog-builtin")
    dlg.reject()
    window.navigate("model", centroid.id)
    ctx.grab(window, "04-model-package-version")

    window.actions.train(batchy.id)
    ctx.wait_until(lambda: "last batch" in _metric(window, "batchy-v1"), 120, "a batch loss beside the epoch's")
    window.actions.train(centroid.id)                   # waits behind batchy: queued
    page = window.pages.model_page
    ctx.wait_until(lambda: page.executions.topLevelItemCount() > 0, 30, "the queued job on the page")
    page.tabs.setCurrentIndex(2)
    ctx.grab(window, "05-queued-executions")
    window.navigate("model", batchy.id)
    page.show_metrics()
    ctx.process(1.5)
    ctx.grab(window, "06-batch-loss")
    ex = client.catalog.list_executions(model_id=batchy.id, kind="train")[0]
    window.actions.cancel(ex.id)
    ctx.wait_until(lambda: page.resume_button.isEnabled(), 120, "the canceled job to settle")
    page.tabs.setCurrentIndex(0)
    ctx.grab(window, "07-canceled-can-resume")
    window.shutdown()
    print(f"catalog left in {work}")
    return 0


def _metric(window, model_name: str) -> str:
    for row in window.jobs.rows.values():
        if row.model_name == model_name:
            return row.metric
    return ""


if __name__ == "__main__":
    raise SystemExit(main())
