"""The newcomer's journey through the real window, step by step (shared by test_gui_journey.py and
tools/journey_shots.py): digits as an image folder, import, split, clone, train / cancel / resume, evaluate,
figures, fix a label, compare, deploy, back up. Each step asserts what the user sees and names a screenshot."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMenu
from shiboken6 import isValid

N_IMAGES = 300
LABELS = [str(d) for d in range(10)]
SPLIT = {"train": 70, "validation": 15, "test": 15}
# What a newcomer sets in the clone dialog to train on a laptop CPU: small images, a few short epochs.
TRAIN_FIELDS = {"epochs": 3, "image_size": 32, "batch_size": 8, "num_workers": 0, "augment_color_jitter": False}
SECOND_FIELDS = {"epochs": 1, "learning_rate": "0.0003"}   # a gentler fine-tune of the trained one
JOB_S = 180


def write_digits(folder: Path, n: int = N_IMAGES, size: int = 32) -> dict[str, int]:
    """scikit-learn's handwritten digits as <folder>/<digit>/dNNNN.png (8x8 upscaled); images per label."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits
    d = load_digits()
    counts: dict[str, int] = {}
    for k in range(n):
        label = str(int(d.target[k]))
        (folder / label).mkdir(parents=True, exist_ok=True)
        img = Image.fromarray((d.images[k] * 15).astype(np.uint8)).resize((size, size), Image.Resampling.NEAREST)
        img.convert("RGB").save(folder / label / f"d{k:04d}.png")
        counts[label] = counts.get(label, 0) + 1
    return counts


@dataclass
class Journey:
    """One walk. `wait(condition, seconds, what)` runs the event loop until the condition holds (qtbot.waitUntil
    in the test); `shot(name, widget)` saves a screenshot (nothing in the test); `patch(obj, name, value)` answers
    a modal file dialog as the user would (monkeypatch.setattr in the test)."""

    window: Any
    workdir: Path
    wait: Callable[[Callable[[], bool], float, str], None]
    shot: Callable[[str, Any], None] = lambda name, widget=None: None
    patch: Callable[[Any, str, Any], None] = setattr
    ids: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def catalog(self):
        return self.window.client.catalog

    def job(self, model_id: str, kind: str = "train"):
        rows = [r for r in self.window.jobs.rows.values() if r.model_id == model_id and r.kind == kind]
        return rows[0] if rows else None

    def dialog(self, cls):
        dlg = self.window.dialogs[-1] if self.window.dialogs else None
        assert isinstance(dlg, cls) and dlg.isVisible(), f"expected an open {cls.__name__}, got {dlg!r}"
        return dlg

    # -- 1. data ---------------------------------------------------------------------------
    def write_images(self) -> Path:
        folder = self.workdir / "digits"
        self.counts = write_digits(folder)
        assert sum(self.counts.values()) == N_IMAGES and sorted(self.counts) == LABELS
        return folder

    def import_folder(self, folder: Path) -> str:
        """File > Import as a new dataset…: the folder's name is suggested, the format detected as an image folder."""
        from desktop_app.gui.dialogs.new_dataset_dialog import NewDatasetDialog
        w = self.window
        item = menu_action(w, "File", "Import as a new dataset…")
        assert item is w.import_new_action and item.isEnabled()
        item.trigger()
        dlg = self.dialog(NewDatasetDialog)
        dlg.path_edit.setText(str(folder))
        assert dlg.name_edit.text() == "digits" and dlg.create_button.text() == "Create and import"
        self.shot("import-dialog", dlg)
        got: list[str] = []
        dlg.created.connect(got.append)
        dlg.create_button.click()
        self.wait(lambda: bool(got), 60, "the import to finish")
        dataset_id = got[0]
        self.wait(lambda: w.navigator.current_key() == ("dataset", dataset_id), 10, "the new dataset to open")
        page = w.pages.pages["dataset"]
        assert w.pages.currentWidget() is page and page.dataset_id == dataset_id
        ds = self.catalog.get_dataset(dataset_id)
        assert sorted(ds.labels) == LABELS and self.catalog.count_items(dataset_id) == N_IMAGES
        self.wait(lambda: page.model.rowCount() == N_IMAGES or page.model.canFetchMore(page.model.index(-1, -1)),
                  20, "the gallery to fill")
        self.ids["dataset"] = dataset_id
        self.shot("dataset-imported", w)
        return dataset_id

    def split(self) -> dict[str, int]:
        """The dataset page's Split… with 70 / 15 / 15: the preview is what the catalog then holds."""
        from desktop_app.gui.dialogs.split_dialog import SplitDialog
        page = self.window.pages.pages["dataset"]
        assert page.split_action.isEnabled()
        page.split_action.trigger()
        dlg = next(d for d in page.findChildren(SplitDialog) if d.isVisible())
        dlg.set_percentages(SPLIT)
        expected = dlg.preview()
        assert sum(expected.values()) == N_IMAGES and dlg.ok_button.isEnabled()
        assert dlg.previews["test"].text() == f"{expected['test']} items"
        self.shot("split-dialog", dlg)
        done: list[dict] = []
        dlg.split_done.connect(done.append)
        dlg.ok_button.click()
        self.wait(lambda: bool(done), 30, "the split")
        assert self.catalog.subset_counts(self.ids["dataset"]) == expected
        self.wait(lambda: not isValid(dlg) or not dlg.isVisible(), 10, "the split dialog to close")
        subsets = page.filters.subsets
        shown = [subsets.item(k).text() for k in range(subsets.count())]
        self.wait(lambda: [subsets.item(k).text() for k in range(subsets.count())] == [
            f"All items  ({N_IMAGES})", f"Train  ({expected['train']})", f"Validation  ({expected['validation']})",
            f"Test  ({expected['test']})", "No subset  (0)"], 10, f"the subset counts (shown: {shown})")
        self.shot("dataset-split", self.window)
        return expected

    # -- 2. model --------------------------------------------------------------------------
    def clone(self, source_name: str, new_name: str, fields: dict, *, train: bool = True,
              dataset: bool = True) -> str:
        """Model > Clone… on the source, the digits dataset and the fields typed in; Clone and train."""
        from desktop_app.gui.dialogs.clone_dialog import CloneDialog
        w = self.window
        source = self.catalog.find_models(name=source_name)[0]
        assert w.navigate("model", source.id)
        item = menu_action(w, "Model", "Clone…")
        assert item.isEnabled()
        item.trigger()
        dlg = self.dialog(CloneDialog)
        dlg.name.setText(new_name)
        if dataset:
            k = dlg.dataset.findData(self.ids["dataset"])
            assert k >= 0, "the digits dataset is offered"
            dlg.dataset.setCurrentIndex(k)
        for key, value in fields.items():
            dlg.config_form.set_value(key, value)
        if self.catalog.get_model(source.id).status == "trained":
            assert dlg.weights_note.text() == f"Training starts from the trained weights of {source_name}."
        elif source_name == "pretrained-resnet":
            # Pretrained weights are not on this machine: the dialog says training starts from random weights.
            self.wait(lambda: dlg.weights_note.isVisible(), 20, "the pretrained-weights note")
            assert "random initialisation" in dlg.weights_note.text()
        self.shot(f"clone-{new_name}", dlg)
        (dlg.train_button if train else dlg.clone_button).click()
        assert not dlg.isVisible(), dlg.error.text()
        model = dlg.created
        assert w.navigator.current_key() == ("model", model.id)
        m = self.catalog.get_model(model.id)
        assert m.dataset_id == self.ids["dataset"] and sorted(m.labels) == LABELS
        assert m.train_filter == {"subset": "train"}
        self.ids[new_name] = model.id
        return model.id

    def train_cancel_resume(self, model_id: str) -> None:
        """Training runs in a worker; the jobs panel's Cancel stops it (not a failure), Resume finishes it."""
        w = self.window
        page = w.pages.model_page
        self.wait(lambda: (r := self.job(model_id)) is not None and r.status == "in-progress" and bool(r.metric),
                  JOB_S, "training to report a metric")
        self.shot("training", w)
        row = self.job(model_id)
        w.jobs.select(row.id)
        assert w.jobs.cancel_button.isEnabled()
        w.jobs.cancel_button.click()
        self.wait(lambda: self.job(model_id).status in ("canceled", "success"), JOB_S, "the cancel")
        assert self.job(model_id).status == "canceled", "training ended before the cancel reached it"
        self.wait(lambda: page.resume_button.isEnabled(), 10, "Resume on the model page")
        assert w.notification.isHidden(), "a cancel is not an error"
        w.jobs.select(row.id)
        assert w.jobs.resume_button.isEnabled()
        self.shot("training-cancelled", w)
        w.jobs.resume_button.click()
        self.wait_trained(model_id)
        self.shot("trained", w)

    def wait_trained(self, model_id: str) -> None:
        w = self.window
        self.wait(lambda: (r := self.job(model_id)) is not None and r.status in ("success", "failed"), JOB_S,
                  "training to end")
        assert self.job(model_id).status == "success", self.job(model_id).error
        self.wait(lambda: self.catalog.get_model(model_id).status == "trained", 10, "the model to be trained")
        page = w.pages.model_page
        if page.model_id == model_id:
            self.wait(lambda: page.badge.text() == "trained", 10, "the badge to say trained")

    # -- 3. evaluation ---------------------------------------------------------------------
    def evaluate(self, model_id: str, test_count: int) -> str:
        """The model page's Evaluate… on the test subset; the new evaluation opens from its list."""
        from desktop_app.gui.dialogs.evaluate_dialog import EvaluateDialog
        w = self.window
        w.navigate("model", model_id)
        page = w.pages.model_page
        page.evaluate_button.click()
        dlg = self.dialog(EvaluateDialog)
        k = dlg.dataset.findData(self.ids["dataset"])
        if k >= 0:
            dlg.dataset.setCurrentIndex(k)
        dlg.subset.setCurrentIndex(dlg.subset.findData("test"))
        assert dlg.subset.currentText() == f"test  ({test_count} items)"
        assert dlg.ok_button.isEnabled(), dlg.problem.text()
        self.shot("evaluate-dialog", dlg)
        dlg.ok_button.click()
        self.wait(lambda: bool(self.catalog.list_evaluations(model_id=model_id)), JOB_S, "the evaluation")
        ev = self.catalog.list_evaluations(model_id=model_id)[0]
        self.wait(lambda: any(page.evaluations.item(i).data(Qt.ItemDataRole.UserRole) == ev.id
                              for i in range(page.evaluations.count())), 10, "the evaluation in the list")
        self.shot("evaluated", w)
        item = next(page.evaluations.item(i) for i in range(page.evaluations.count())
                    if page.evaluations.item(i).data(Qt.ItemDataRole.UserRole) == ev.id)
        page.evaluations.itemDoubleClicked.emit(item)     # what a double-click does
        ep = w.pages.pages["evaluation"]
        self.wait(lambda: w.pages.currentWidget() is ep and ep.session is not None
                  and ep.evaluation_id == ev.id, 30, "the evaluation page")
        assert f"subset test, {test_count} items" in ep.subtitle.text(), ep.subtitle.text()
        assert not ep.gallery.iou.isVisible()           # a classification has no IoU
        assert ep.status.text().startswith(f"{2 * test_count} instances (ground truth and predictions) on "
                                           f"{test_count} images."), ep.status.text()
        self.ids["evaluation"] = ev.id
        return ev.id

    def confusion_and_gallery(self, test_count: int) -> tuple[int, int]:
        """The confusion matrix adds up to the test subset; a wrong cell lists exactly its items."""
        import numpy as np
        ep = self.window.pages.pages["evaluation"]
        ep.figures.setCurrentWidget(ep.confusion)
        m = np.array(ep.confusion.matrix.matrix)
        names = ep.confusion.matrix.labels
        assert names[:10] == LABELS and int(m.sum()) == test_count, (names, m.sum())
        self.shot("confusion", self.window)
        n = len(names)
        off = [(i, j) for i in range(n) for j in range(n) if i != j and m[i, j]]
        i, j = off[0] if off else (0, 0)
        mat = ep.confusion.matrix
        refreshed: list[int] = []
        ep.refreshed.connect(lambda: refreshed.append(1))
        from PySide6.QtTest import QTest
        QTest.mouseClick(mat, Qt.MouseButton.LeftButton, pos=mat.cell_rect(i, j).center().toPoint())
        self.wait(lambda: bool(refreshed), 10, "the gallery for the clicked cell")
        rows = [ep.gallery.model.instance(r) for r in range(ep.gallery.model.rowCount())]
        assert len(rows) == m[i, j]
        labels = ep.session.labels
        assert {(r["true_label"], r["label"]) for r in rows} == {(labels[i], labels[j])}
        self.shot("error-gallery", self.window)
        return i, j

    def relabel_and_undo(self) -> None:
        """The first listed item opens in the review viewer; Relabel… gives it the predicted class; undo puts
        the true one back, in the catalog too."""
        ep = self.window.pages.pages["evaluation"]
        first = ep.gallery.model.instance(0)
        ep.open_row(0)
        assert ep.right.currentWidget() is ep.review
        panel = ep.review
        self.wait(lambda: panel.selected() is not None, 10, "the clicked prediction to be selected")
        item_id = panel.current_item_id
        assert item_id == first["item_id"] and panel.selected().id == first["annotation_id"]
        viewer = panel.viewers[0]
        chips = {ann.is_prediction: (ann, text) for ann, _kind, text in viewer.class_chips()}
        gt, _text = chips[False]
        assert gt.label == first["true_label"] and chips[True][0].label == first["label"]
        assert not panel.relabel_button.isEnabled()     # a prediction is not relabelled: its truth is
        click_chip(viewer, gt.id)
        self.wait(lambda: panel.selected() is not None and panel.selected().id == gt.id, 10, "the truth chip")
        self.shot("review", self.window)
        assert panel.relabel_button.isEnabled()
        panel.relabel_button.click()
        menu = next(m for m in panel.findChildren(QMenu) if m.isVisible())
        action = next(a for a in menu.actions() if a.text() == first["label"])
        action.trigger()
        menu.close()

        def truth() -> list[str]:
            return [a.label for a in self.catalog.list_annotations(item_ids=[item_id], ground_truth=True)
                    if a.type == "class"]
        self.wait(lambda: truth() == [first["label"]], 10, "the relabel to be saved")
        assert panel.undo_button.isEnabled()
        self.shot("review-relabelled", self.window)
        panel.undo_button.click()
        self.wait(lambda: truth() == [first["true_label"]], 10, "the undo to be saved")
        ep.close_review()

    # -- 4. compare ------------------------------------------------------------------------
    def compare(self, a: str, b: str) -> None:
        """Ctrl-click two models in the navigator, Model > Compare selected models."""
        w = self.window
        nav = w.navigator
        w.navigate("model", a)
        nav.item_for("model", b).setSelected(True)
        assert set(nav.selected_models()) == {a, b}
        menu_action(w, "Model", "Compare selected models").trigger()
        page = w.pages.currentWidget()
        assert w.pages.current_kind() == "compare" and set(page.model_ids) == {a, b}
        assert page.title.text() == "Compare 2 models"
        names = [self.catalog.get_model(m).name for m in (a, b)]
        assert all(n in page.legend.text() for n in names)
        self.shot("compare", w)

    # -- 5. serving ------------------------------------------------------------------------
    def deploy_and_call(self, model_id: str, image: Path) -> list:
        """View > Services: Start service on the trained model, then POST one digit to it."""
        w = self.window
        w.navigate("model", model_id)
        menu_action(w, "View", "Services").trigger()
        page = w.pages.pages["services"]
        assert w.pages.currentWidget() is page
        k = page.model_combo.findData(model_id)
        assert k >= 0, "the trained model is offered"
        page.model_combo.setCurrentIndex(k)
        started: list[str] = []
        page.service_started.connect(started.append)
        page.start_button.click()
        self.wait(lambda: bool(started) or page.status.text().startswith("Could not"), 120, "the service")
        assert started, page.status.text()
        self.ids["service"] = started[0]        # stopped at the end even if the call below fails
        svc = self.catalog.get_service(started[0])
        name = self.catalog.get_model(model_id).name
        req = urllib.request.Request(f"{svc.url}/predictions/{name}", data=image.read_bytes(), method="POST",
                                     headers={"Content-Type": "image/png"})
        with urllib.request.urlopen(req, timeout=60) as r:
            out = json.loads(r.read())
        assert isinstance(out, list) and out and out[0]["label"] in LABELS
        from desktop_app.gui.views.services_page import COLUMNS, ID_ROLE

        def requests() -> str:
            rows = [page.table.topLevelItem(i) for i in range(page.table.topLevelItemCount())]
            row = next((r for r in rows if r.data(0, ID_ROLE) == svc.id), None)
            return row.text(COLUMNS.index("Requests")) if row is not None else ""
        self.wait(lambda: requests() == "1", 30, "the request to be counted on the services page")
        self.shot("service", w)
        return out

    def stop_service(self) -> None:
        from desktop_app.gui.views.services_page import ID_ROLE
        page = self.window.pages.pages["services"]
        sid = self.ids["service"]
        for i in range(page.table.topLevelItemCount()):
            item = page.table.topLevelItem(i)
            if item.data(0, ID_ROLE) == sid:
                page.table.setCurrentItem(item)
        stopped: list[str] = []
        page.service_stopped.connect(stopped.append)
        page.stop_button.click()
        self.wait(lambda: bool(stopped), 60, "the service to stop")

    # -- 6. housekeeping -------------------------------------------------------------------
    def backup(self) -> Path:
        """Housekeeping > Back up to an archive…, answering its file dialog."""
        w = self.window
        target = self.workdir / "backups" / "catalog.tar.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.patch(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
        from desktop_app.gui.dialogs.housekeeping_dialog import HousekeepingDialog
        menu_action(w, "File", "Catalog housekeeping…").trigger()
        dlg = self.dialog(HousekeepingDialog)
        self.wait(lambda: dlg.work is None, 60, "the housekeeping figures")
        dlg.backup_button.click()
        self.wait(lambda: dlg.work is None and target.is_file(), 120, "the backup")
        assert "Backed up to" in dlg.message.text()
        import tarfile
        with tarfile.open(target) as tar:
            assert any(n.endswith("/catalog.db") for n in tar.getnames())
        self.shot("backup", dlg)
        dlg.close()
        return target

    # -- the whole walk ---------------------------------------------------------------------
    def walk(self) -> None:
        """Every step in order, as the test and tools/journey_shots.py take them."""
        folder = self.write_images()
        self.import_folder(folder)
        subsets = self.split()
        first = self.clone("pretrained-resnet", "digits-resnet", TRAIN_FIELDS)
        self.train_cancel_resume(first)
        self.evaluate(first, subsets["test"])
        self.confusion_and_gallery(subsets["test"])
        self.relabel_and_undo()
        second = self.clone("digits-resnet", "digits-resnet-v2", SECOND_FIELDS, dataset=False)
        self.wait_trained(second)
        self.compare(first, second)
        try:
            self.deploy_and_call(first, next((folder / "7").glob("*.png")))
        finally:
            if "service" in self.ids:
                self.stop_service()
        self.backup()


def click_chip(viewer: Any, annotation_id: int) -> None:
    """A left click on the class chip of the annotation, where the viewer draws it."""
    from PySide6.QtTest import QTest
    chip = next(c for c in viewer._chips if c.data(0) == annotation_id)
    tag = chip.childItems()[0]
    pos = tag.deviceTransform(viewer.viewportTransform()).map(tag.boundingRect().center()).toPoint()
    QTest.mouseClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def menu_action(window: Any, menu_title: str, text: str):
    """The menu bar's action by its visible texts (ampersands ignored)."""
    bar = window.menuBar()
    menu = next(a.menu() for a in bar.actions() if a.text().replace("&", "") == menu_title)
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)

