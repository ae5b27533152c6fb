"""The evaluation page: summary, per-class table, P/R curves, a clickable confusion matrix and the error
gallery, all redrawn live from the cached predictions as the confidence / IoU sliders move; an image
opens in the review viewer, where mistakes are fixed in place. Instance masks (COCO segm) read as mask AP with
mask IoU; a semantic evaluation shows its stored pixel figures (mIoU, per-class IoU, a pixel confusion matrix)
and its images worst first, with no threshold to move."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QSplitter, QStackedWidget, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from desktop_app.evaluation.review import InstanceFilter, ReviewSession, point_at
from desktop_app.evaluation.store import EvaluationView

from ..actions import Actions
from ..exporting import save_png
from ..segmentation_figures import KIND_WORDS, MASK_TITLES, SEMANTIC_STATS, SEMANTIC_TITLES, evaluation_kind
from ..itemmodels.compare_model import format_value
from ..style import muted, title_font
from ..widgets.confusion_matrix import ConfusionPanel
from ..widgets.error_gallery import ErrorGallery
from ..widgets.pr_chart import PRChart
from ..widgets.threshold_bar import ThresholdBar
from ..workers import TaskRunner
from .review_page import ReviewPanel

log = logging.getLogger(__name__)

LIVE_STATS = ("precision", "recall", "f1", "tp", "fp", "fn")
STORED_STATS = ("mAP", "mAP50", "mAP75", "AR100")
# Classification: every figure under "At this confidence threshold" is the core's at the slider's value;
# top-k ranks the whole score vector whatever the threshold, so it sits apart.
CLASS_LIVE_STATS = ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")
CLASS_STORED_STATS = ("top3_accuracy",)
CLASS_COLUMNS = ("support", "tp", "fp", "fn", "precision", "recall", "f1", "AP", "AP50")
SEMANTIC_COLUMNS = ("iou", "accuracy", "pixels")
WORST_LIMIT = 500


class EvaluationPage(QWidget):
    message = Signal(str)
    navigate = Signal(str, str)
    loaded = Signal()                      # a new evaluation is on screen
    refreshed = Signal()                   # figures and gallery redrawn for new thresholds or filters
    thresholds_kept = Signal(str)          # model id: its configuration holds the slider's confidence now
    rescored = Signal(str)                 # the new evaluation id (or "" when re-scoring failed)

    def __init__(self, client: Any, parent: QWidget | None = None, *, actions: Any = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.view: EvaluationView | None = None
        self.session: ReviewSession | None = None
        self.kind = ""
        self.evaluation_id: str | None = None
        self.restrict: np.ndarray | None = None
        self._pending_cell: tuple | None = None
        self._before_cell: tuple | None = None
        self.tasks = TaskRunner(self)
        self.actions = Actions.for_page(client, actions, self, self.tasks)
        self._gen = 0

        self.title = QLabel("Evaluation")
        self.title.setFont(title_font(self.font(), 1.3))
        self.subtitle = QLabel()
        muted(self.subtitle)
        self.picker = QComboBox()
        self.picker.setToolTip("Other evaluations of this model")
        self.picker.currentIndexChanged.connect(self._picked)
        self.rescore_button = QPushButton("Re-score")
        self.rescore_button.setToolTip("Score the stored predictions again against the ground truth as it is now "
                                       "(after fixes); the model does not run")
        self.rescore_button.clicked.connect(self.rescore)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._ask_export)
        self.keep_button = QPushButton("Use for serving")
        self.keep_button.setToolTip("Keep this confidence threshold on the model (for every class): its services "
                                    "drop predictions below it, and running ones load the model again to apply it now")
        self.keep_button.setEnabled(False)
        self.keep_button.clicked.connect(lambda: self.keep_threshold())
        self.model_button = QPushButton("Open model")
        self.model_button.clicked.connect(lambda: self.view and self.navigate.emit("model", self.view.model_id))
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        head.addLayout(titles, 1)
        for w in (self.picker, self.rescore_button, self.export_button, self.keep_button, self.model_button):
            head.addWidget(w, 0, Qt.AlignmentFlag.AlignTop)

        self.thresholds = ThresholdBar()
        self.thresholds.changed.connect(self.set_thresholds)

        # figures
        self.summary_box = QGroupBox("At these thresholds")
        self.summary_grid = QGridLayout(self.summary_box)
        self.summary_labels: dict[str, QLabel] = {}
        self.stored_box = QGroupBox("At every threshold (stored)")
        self.stored_grid = QGridLayout(self.stored_box)
        self.stored_labels: dict[str, QLabel] = {}
        self.class_table = QTableWidget()
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.class_table.verticalHeader().hide()
        self.class_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.class_table.cellDoubleClicked.connect(self._class_row_clicked)
        summary_tab = QWidget()
        sl = QVBoxLayout(summary_tab)
        sl.addWidget(self.summary_box)
        sl.addWidget(self.stored_box)
        hint = QLabel("Double-click a class to list its mistakes.")
        hint.setWordWrap(True)
        muted(hint)
        sl.addWidget(hint)
        sl.addWidget(self.class_table, 1)
        self.class_hint = hint
        self.pr_chart = PRChart("Precision-recall per class",
                                caption="Dots: where the confidence threshold puts each class.")
        self.confusion = ConfusionPanel()
        self.confusion.cell_clicked.connect(self.show_cell)
        self.figures = QTabWidget()
        self.figures.addTab(summary_tab, "Summary")
        self.pr_tab = self.figures.addTab(self.pr_chart, "PR curves")
        self.figures.addTab(self.confusion, "Confusion matrix")

        # mistakes
        self.gallery = ErrorGallery(self.catalog)
        self.gallery.filter_changed.connect(self.refresh_gallery)
        self.gallery.restriction_cleared.connect(self._clear_cell)
        self.gallery.activated.connect(self.open_row)
        self.review = ReviewPanel(client, panes=1)
        self.review.closed.connect(self.close_review)
        self.review.changed.connect(self._fixed)
        self.worst = _worst_panel()
        self.right = QStackedWidget()
        self.right.addWidget(self.gallery)
        self.right.addWidget(self.review)
        self.right.addWidget(self.worst)

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.figures)
        self.split.addWidget(self.right)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 3)
        self.split.setSizes([520, 760])
        self.status = QLabel("Loading…")
        muted(self.status)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        lay.addLayout(head)
        lay.addWidget(self.thresholds)
        lay.addWidget(self.split, 1)
        lay.addWidget(self.status)

    # -- loading ----------------------------------------------------------------------------
    def set_evaluation(self, evaluation_id: str) -> None:
        """Show an evaluation; 'id@row,col' also lists that confusion cell's instances once loaded."""
        evaluation_id, _, cell = evaluation_id.partition("@")
        self._pending_cell = tuple(int(v) for v in cell.split(",")) if cell else None
        if evaluation_id == self.evaluation_id and self.session is not None:
            if self._pending_cell:
                self.show_cell(*self._pending_cell)
            return
        self.evaluation_id = evaluation_id
        rec = self.catalog.get_evaluation(evaluation_id)
        view = EvaluationView(self.catalog, rec)
        model = self.catalog.get_model(rec.model_id)
        ds = self.catalog.get_dataset(rec.dataset_id)
        self.title.setText(f"{model.name} · {rec.name}")
        flt = ", ".join(f"{k} {v}" for k, v in (rec.filter or {}).items()) or "all items"
        n = rec.results.get("n_items", "?")
        self.kind = evaluation_kind(rec.method, rec.results)
        self.subtitle.setText(f"{KIND_WORDS.get(self.kind, rec.method)} on {ds.name} "
                              f"({flt}, {n} items) · {rec.created_at[:19].replace('T', ' ')}")
        self._fill_picker(rec)
        self.close_review()
        self._set_kind_controls()
        if self.kind == "semantic":
            self._show_semantic(view)
            return
        self.status.setText("Loading the cached predictions…")
        self.thresholds.setEnabled(False)
        self.keep_button.setEnabled(False)
        self._gen += 1
        gen = self._gen
        self.tasks.submit(lambda: _open_session(view), lambda s: self._loaded(gen, view, s),
                          lambda e: self._failed(gen, e))

    def _set_kind_controls(self) -> None:
        """What applies to this kind of evaluation: a semantic one has no threshold to move, no PR curves, no
        instances (its matrix counts pixels); instance masks name their figures and IoU for masks."""
        semantic = self.kind == "semantic"
        masks = self.kind == "masks"
        self.thresholds.set_kind(self.kind)
        self.keep_button.setVisible(not semantic)
        self.figures.setTabVisible(self.pr_tab, not semantic)
        self.pr_chart.set_title("Precision-recall per class (masks)" if masks else "Precision-recall per class")
        self.confusion.set_unit("pixels" if semantic else "")
        self.class_hint.setText("Per class over every pixel scored (IoU, accuracy: the share of its pixels "
                                "predicted right)." if semantic else "Double-click a class to list its mistakes.")
        if not semantic and self.right.currentWidget() is self.worst:
            self.right.setCurrentWidget(self.gallery)

    def _fill_picker(self, rec) -> None:
        self.picker.blockSignals(True)
        self.picker.clear()
        for other in self.catalog.list_evaluations(model_id=rec.model_id):
            self.picker.addItem(other.name, other.id)
        self.picker.setCurrentIndex(max(0, self.picker.findData(rec.id)))
        self.picker.setVisible(self.picker.count() > 1)
        self.picker.blockSignals(False)

    def _picked(self, _i: int) -> None:
        eid = self.picker.currentData()
        if eid and eid != self.evaluation_id:
            self.navigate.emit("evaluation", eid)

    def _failed(self, gen: int, error: BaseException) -> None:
        if gen == self._gen:
            self.status.setText(f"Could not load the evaluation: {error}")
            self.message.emit(f"Could not load the evaluation: {error}")

    # -- semantic segmentation -------------------------------------------------------------
    def _show_semantic(self, view: EvaluationView) -> None:
        """The stored pixel figures at once; the images, worst first, from the core in the background (where it
        can list them)."""
        self._gen += 1
        self.view, self.session = view, None
        self.restrict = None
        results = view.results
        stats = [k for k in SEMANTIC_STATS if k in view.summary or k in ("miou", "pixel_accuracy", "mean_accuracy")]
        self.summary_labels = _value_grid(self.summary_grid, stats, SEMANTIC_TITLES, per_row=2)  # long titles
        self.stored_labels = _value_grid(self.stored_grid, [])
        self.stored_box.setVisible(False)
        self.summary_box.setTitle("Over every pixel scored (ignored pixels left out)")
        self._fill_summary({"summary": view.summary})
        self._fill_semantic_classes(view.per_class)
        conf = results.get("confusion") or {}
        self.confusion.set_matrix(conf.get("labels", []), conf.get("matrix", []))
        self.confusion.matrix.set_selected(None)
        self.right.setCurrentWidget(self.worst)
        self.worst.table.setRowCount(0)
        iou = float(view.record.iou_threshold or 0.5)
        self.thresholds.set_values(0.0, iou)
        self.thresholds.set_iou_enabled(True)
        self.thresholds.setEnabled(True)
        matrix = np.asarray(conf.get("matrix") or [[0]], np.int64)
        self.status.setText(f"{int(matrix.sum()):,} pixels scored on {results.get('n_items', '?')} images. These "
                            f"figures are stored: re-score after fixing the ground truth.")
        self._list_worst(iou)
        self.loaded.emit()

    def _list_worst(self, iou: float) -> None:
        """The images worst first, with their classes under `iou`, from the core in the background."""
        view, gen = self.view, self._gen
        self.worst.note.setText("Listing the images, worst first…")
        self.worst.set_iou(iou)
        self.tasks.submit(lambda: _worst_items(view, iou), lambda rows: self._worst_loaded(gen, rows),
                          lambda e: self._worst_failed(gen, e))

    def _fill_semantic_classes(self, per: dict) -> None:
        t = self.class_table
        t.setUpdatesEnabled(False)
        t.clearContents()
        t.setColumnCount(len(SEMANTIC_COLUMNS) + 1)
        t.setHorizontalHeaderLabels(["class", *(SEMANTIC_TITLES[c] for c in SEMANTIC_COLUMNS)])
        t.setRowCount(len(per))
        for r, (lb, row) in enumerate(per.items()):
            for c, key in enumerate(["class", *SEMANTIC_COLUMNS]):
                v = row.get(key)
                if key == "class":
                    text = lb
                elif v is None or (isinstance(v, float) and v != v):
                    text = "—"             # absent from the ground truth and the predictions
                else:
                    text = f"{int(v):,}" if key == "pixels" else format_value(v)
                item = QTableWidgetItem(str(text))
                if key != "class":
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    item.setToolTip(f"{lb} {SEMANTIC_TITLES.get(key, key)}: {v!r}")
                t.setItem(r, c, item)
        t.setUpdatesEnabled(True)

    def _worst_loaded(self, gen: int, rows: list[dict] | str) -> None:
        if gen != self._gen:
            return
        if isinstance(rows, str):          # the core cannot list them: why
            self.worst.note.setText(rows)
            return
        self.worst.fill(rows)
        self.worst.note.setText(f"{len(rows):,} images, the lowest mean IoU first." if rows else
                                "No image to list.")
        self.refreshed.emit()

    def _worst_failed(self, gen: int, error: BaseException) -> None:
        if gen == self._gen:
            self.worst.note.setText(f"Could not list the images: {error}")

    def _loaded(self, gen: int, view: EvaluationView, session: ReviewSession) -> None:
        if gen != self._gen:
            return
        self.view, self.session = view, session
        self.restrict = None
        self._before_cell = None
        self.gallery.set_restriction(None)
        self.confusion.matrix.set_selected(None)
        self.thresholds.set_iou_enabled(session.is_detection)
        self.gallery.set_iou_enabled(session.is_detection)
        self.thresholds.set_values(float(session.score_threshold or 0.0), session.iou_threshold)
        self.thresholds.setEnabled(True)
        self.keep_button.setEnabled(not self.catalog.read_only)
        self.gallery.set_labels([lb for lb in session.labels if lb != "(no prediction)"])
        self.review.set_sessions([session])
        self._build_summary()
        self._draw_all(iou_changed=True)
        self.status.setText(status_text(len(session.table), len(session.table.item_ids)))
        if self._pending_cell:
            self.show_cell(*self._pending_cell)
        self.loaded.emit()

    # -- thresholds -------------------------------------------------------------------------
    def set_thresholds(self, confidence: float, iou: float) -> None:
        if self.kind == "semantic" and self.view is not None:
            self._gen += 1                      # an older listing arriving late is dropped
            self._list_worst(iou)
            return
        s = self.session
        if s is None:
            return
        iou_changed = s.is_detection and abs(iou - s.iou_threshold) > 1e-9
        s.update(iou_threshold=iou if s.is_detection else None, score_threshold=confidence)
        if self.restrict is not None:   # the cell's rows changed with the thresholds: follow the cell
            cell = self.confusion.matrix.selected
            self.restrict = s.confusion_cell(*cell) if cell else None
        self._draw_all(iou_changed=iou_changed)

    def keep_threshold(self) -> None:
        """The confidence on the slider becomes the model's conf_threshold (per-class ones cleared: what the
        figures show is what its services give); running services reload in the background."""
        if self.view is None:
            return
        confidence = self.thresholds.values()[0]
        cat, model_id = self.catalog, self.view.model_id
        name = cat.get_model(model_id).name
        self.keep_button.setEnabled(False)
        self.status.setText(f"Keeping confidence ≥ {confidence:.2f} on {name}…")

        def done(out: dict) -> None:
            self.keep_button.setEnabled(True)
            n, failed = len(out["services_reloaded"]), out["services_failed"]
            text = f"Confidence ≥ {out['conf_threshold']:.2f} kept on {name}"
            text += f"; {n} running service{'s' if n != 1 else ''} reloaded to apply it" if n else \
                "; services started from now on apply it"
            if failed:
                text += f"; {len(failed)} could not reload (restart it): {next(iter(failed.values()))}"
            self.status.setText(text)
            self.message.emit(text)
            self.thresholds_kept.emit(model_id)

        def failed(e: BaseException) -> None:
            self.keep_button.setEnabled(True)
            self.status.setText(f"Could not keep the threshold: {e}")
            self.message.emit(f"Could not keep the threshold on {name}: {e}")

        self.actions.keep_threshold(model_id, confidence, done, failed, tasks=self.tasks)

    def _draw_all(self, iou_changed: bool) -> None:
        s = self.session
        fig = s.figures
        self._fill_summary(fig)
        self._fill_classes(fig)
        labels, matrix = fig["confusion"]["labels"], fig["confusion"]["matrix"]
        self.confusion.set_matrix(labels, matrix)
        self._draw_pr(redo_curves=iou_changed)
        self.refresh_gallery()

    def _build_summary(self) -> None:
        stored = self.view.summary
        if self.session.is_detection:
            live, kept = [k for k in STORED_STATS if k in stored] + list(LIVE_STATS), []
        else:
            live, kept = list(CLASS_LIVE_STATS), [k for k in CLASS_STORED_STATS if k in stored]
        titles = MASK_TITLES if self.kind == "masks" else {}
        self.summary_labels = _value_grid(self.summary_grid, live, titles)
        self.stored_labels = _value_grid(self.stored_grid, kept)
        self.stored_box.setVisible(bool(kept))
        self.summary_box.setTitle(
            "Masks at these thresholds (mask mAP: stored, every threshold)" if self.kind == "masks" else
            "At these thresholds (mAP: stored, every threshold)" if self.session.is_detection
            else "At this confidence threshold")

    def _fill_summary(self, fig: dict) -> None:
        """Live figures from the core at the current thresholds; detection's mAP and classification's top-k
        from the stored evaluation (they do not depend on a threshold)."""
        live = fig["summary"]
        stored = self.view.summary
        for labels, source in ((self.summary_labels, live), (self.stored_labels, stored)):
            for key, label in labels.items():
                v = source.get(key, stored.get(key) if key in STORED_STATS else None)
                label.setText(format_value(v))
                label.setToolTip(f"{key}: {v!r}")

    def summary_values(self) -> dict[str, str]:
        """What the summary boxes show, by figure (tests and screenshots read the window through this)."""
        return {k: lb.text() for k, lb in {**self.summary_labels, **self.stored_labels}.items()}

    def summary_titles(self) -> dict[str, str]:
        """The name shown over each figure ('mask AP50', 'mIoU'), by figure key."""
        return {k: lb.title_label.text() for k, lb in {**self.summary_labels, **self.stored_labels}.items()}

    def _fill_classes(self, fig: dict) -> None:
        per = fig["per_class"]
        stored = self.view.per_class
        cols = [c for c in CLASS_COLUMNS if any(c in per.get(lb, {}) or c in stored.get(lb, {}) for lb in per)]
        t = self.class_table
        t.setUpdatesEnabled(False)
        if t.columnCount() != len(cols) + 1 or t.rowCount() != len(per):
            t.setColumnCount(len(cols) + 1)
            t.setRowCount(len(per))
        titles = MASK_TITLES if self.kind == "masks" else {}
        t.setHorizontalHeaderLabels(["class", *(titles.get(c, c) for c in cols)])
        for r, (lb, row) in enumerate(per.items()):
            vals = {**stored.get(lb, {}), **row}
            for c, key in enumerate(["class", *cols]):
                v = lb if key == "class" else vals.get(key)
                text = v if key == "class" else ("—" if v is None or (isinstance(v, float) and v < 0) else
                                                 format_value(v))
                item = t.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    t.setItem(r, c, item)
                item.setText(str(text))
                if key != "class":
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        t.setUpdatesEnabled(True)

    def _draw_pr(self, redo_curves: bool) -> None:
        s = self.session
        sweeps = s.pr_sweeps()
        if redo_curves or not self.pr_chart.curve_names():
            self.pr_chart.set_curves({lb: (sw["recall"], sw["precision"]) for lb, sw in sweeps.items()
                                      if sw["recall"].shape[0]})
        thr = float(s.score_threshold or 0.0)
        self.pr_chart.set_markers({lb: point_at(sw, thr) for lb, sw in sweeps.items() if sw["recall"].shape[0]})

    # -- the gallery ------------------------------------------------------------------------
    def current_filter(self) -> InstanceFilter:
        flt = self.gallery.filter()
        if self.restrict is not None:   # a confusion cell: its matched ground truths count too
            flt = replace(flt, kinds=tuple(flt.kinds) + ("gt",))
        return flt

    def refresh_gallery(self) -> None:
        s = self.session
        if s is None:
            return
        flt = self.current_filter()
        idx = s.select(flt, self.restrict)
        self.gallery.show_rows(s.table, idx, s.counts(flt, self.restrict))
        self.refreshed.emit()

    def show_cell(self, row: int, col: int) -> None:
        """A click on the confusion matrix: the gallery lists exactly the instances of that cell."""
        s = self.session
        if s is None:              # a semantic evaluation: its cells count pixels, not instances
            return
        labels = s.figures["confusion"]["labels"]
        if self.restrict is None:
            self._before_cell = (self.gallery.filter(), self.gallery.view_mode)
        self.restrict = s.confusion_cell(row, col)
        self.confusion.matrix.set_selected((row, col))
        self.gallery.set_filter(InstanceFilter(kinds=("tp", "fp", "fn"), sort=self.gallery.filter().sort),
                                mode="crops")
        self.gallery.set_restriction(f"true {labels[row]} → predicted {labels[col]} ({len(self.restrict):,})")
        self.close_review()
        self.refresh_gallery()

    def _clear_cell(self) -> None:
        """Back to the filter the user had before clicking into the matrix."""
        self.restrict = None
        self.confusion.matrix.set_selected(None)
        if self._before_cell is not None:
            self.gallery.set_filter(*self._before_cell)
            self._before_cell = None
        self.refresh_gallery()

    def _class_row_clicked(self, row: int, _col: int) -> None:
        item = self.class_table.item(row, 0)
        if item is None:
            return
        flt = replace(self.gallery.filter(), label=item.text())
        self.restrict = None
        self._before_cell = None
        self.confusion.matrix.set_selected(None)
        self.gallery.set_restriction(None)
        self.gallery.set_filter(flt)
        self.refresh_gallery()

    def show_filter(self, flt: InstanceFilter, mode: str = "crops") -> None:
        """Set the gallery's filter from code (scripts, screenshots, tests)."""
        self.restrict = None
        self._before_cell = None
        self.gallery.set_restriction(None)
        self.confusion.matrix.set_selected(None)
        self.gallery.set_filter(flt, mode)
        self.refresh_gallery()

    # -- the review viewer ------------------------------------------------------------------
    def open_row(self, row: int) -> None:
        m = self.gallery.model
        if not 0 <= row < m.rowCount():
            return
        items = m.ordered_item_ids() if m.mode == "crops" else m.item_ids.tolist()
        focus: dict[int, int] = {}
        if m.mode == "crops":
            t = m.table
            for r in m.idx.tolist():       # the first listed instance of each item is the one selected there
                focus.setdefault(t.item_id(r), int(t.annotation_id[r]))
            inst = m.instance(row)
            focus[inst["item_id"]] = inst["annotation_id"]
        item_id = m.item_id_at(row)
        self.review.set_items(items, items.index(item_id), focus)
        self.right.setCurrentWidget(self.review)
        self.review.viewers[0].setFocus()

    def close_review(self) -> None:
        if self.right.currentWidget() is self.review and self.kind == "semantic":
            self.right.setCurrentWidget(self.worst)
        elif self.right.currentWidget() is self.review:
            item_id = self.review.current_item_id
            self.right.setCurrentWidget(self.gallery)
            if item_id is not None:
                r = self.gallery.model.row_of_item(item_id)
                if r >= 0:
                    idx = self.gallery.model.index(r)
                    self.gallery.gallery.setCurrentIndex(idx)
                    self.gallery.gallery.scrollTo(idx)

    def _fixed(self, item_id: int) -> None:
        self.gallery.model.forget_items([item_id])
        self.message.emit("Saved. The evaluation's figures change when you re-score it.")

    def rescore(self) -> None:
        """Score the stored predictions again (the ground truth may have been fixed), at the IoU and confidence
        thresholds the evaluation ran with; no model run. On the task pool: this returns at once."""
        if self.view is None or not self.rescore_button.isEnabled():
            return
        rec = self.view.record
        self.rescore_button.setEnabled(False)
        self.status.setText(f"Re-scoring {rec.name}…")

        def done(out: dict) -> None:
            self.rescore_button.setEnabled(True)
            self.evaluation_id = None
            self.set_evaluation(out["evaluation_id"])
            self.message.emit(f"Re-scored {rec.name}")
            self.rescored.emit(out["evaluation_id"])

        def failed(e: BaseException) -> None:
            self.rescore_button.setEnabled(True)
            self.status.setText(f"Could not re-score: {e}")
            self.message.emit(f"Could not re-score: {e}")
            self.rescored.emit("")
        self.actions.rescore(rec.id, done, failed, tasks=self.tasks)

    # -- export -----------------------------------------------------------------------------
    def _ask_export(self) -> None:
        if self.view is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the evaluation (JSON, CSV and charts) to")
        if folder:
            self.export(folder)

    def export(self, folder: str | Path) -> list[Path]:
        out = Path(folder)
        files = self.view.export(out)
        if self.kind != "semantic":          # pixels have no precision-recall curve
            files.append(self.pr_chart.export_png(out / f"{self.view.name}-pr.png"))
        files.append(save_png(self.confusion, out / f"{self.view.name}-confusion.png"))
        self.message.emit(f"Exported {len(files)} files to {out}")
        return files

    def shutdown(self) -> None:
        self.tasks.wait(10_000)
        self.gallery.shutdown()
        self.review.shutdown()


def _value_grid(grid: QGridLayout, keys: list[str], titles: dict[str, str] | None = None,
                per_row: int = 5) -> dict[str, QLabel]:
    """Empty the grid, then a muted name (its title, else the key) over a large value for each key, `per_row`
    a row; each value label keeps its name label as `title_label`."""
    while grid.count():
        w = grid.takeAt(0).widget()
        if w is not None:
            w.deleteLater()
    out = {}
    for k, key in enumerate(keys):
        name = QLabel((titles or {}).get(key, key))
        muted(name)
        value = QLabel()
        f = value.font()
        f.setPointSizeF(f.pointSizeF() * 1.25)
        f.setBold(True)
        value.setFont(f)
        grid.addWidget(name, (k // per_row) * 2, k % per_row)
        grid.addWidget(value, (k // per_row) * 2 + 1, k % per_row)
        value.title_label = name
        out[key] = value
    return out


def _open_session(view: EvaluationView) -> ReviewSession:
    """Off the GUI thread: the cached predictions, the matcher, the instance table and the P/R sweeps; the IoU
    slider starts where the evaluation was scored (its stored figures agree with the live ones there)."""
    session = ReviewSession(view)
    if session.is_detection and abs(view.record.iou_threshold - session.iou_threshold) > 1e-9:
        session.update(iou_threshold=view.record.iou_threshold)
    session.pr_sweeps()
    return session


def status_text(instances: int, items: int) -> str:
    """The page's foot line. "90 instances" alone, under a subtitle of 45 items, read as a wrong count: say
    they are the ground truth and the predictions together, on how many images."""
    return (f"{instances:,} instances (ground truth and predictions) on {items:,} images. Moving a slider "
            f"recomputes everything from the cached predictions; the model does not run.")


class _WorstPanel(QWidget):
    """A semantic evaluation's images, worst first (the core's worst_items): name, mean IoU, pixel accuracy and
    the classes under the evaluation's IoU threshold."""

    COLUMNS = (("name", "image"), ("miou", "mean IoU"), ("pixel_accuracy", "pixel accuracy"),
               ("below", "classes below IoU"))

    def __init__(self) -> None:
        super().__init__()
        self.note = QLabel()
        self.note.setWordWrap(True)
        muted(self.note)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setColumnCount(len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([t for _, t in self.COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Images, worst first")
        title.setFont(title_font(self.font(), 1.05))
        lay.addWidget(title)
        lay.addWidget(self.note)
        lay.addWidget(self.table, 1)

    def set_iou(self, iou: float) -> None:
        self.table.horizontalHeaderItem(3).setText(f"classes below IoU {iou:.2f}")

    def fill(self, rows: list[dict]) -> None:
        t = self.table
        t.setUpdatesEnabled(False)
        t.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (key, _) in enumerate(self.COLUMNS):
                v = row.get(key)
                if isinstance(v, (list, tuple)):
                    text = ", ".join(str(x) for x in v)
                elif isinstance(v, dict):
                    text = ", ".join(f"{k} {format_value(x)}" for k, x in v.items())
                else:
                    text = "—" if v is None else v if isinstance(v, str) else format_value(v)
                item = QTableWidgetItem(text)
                if key in ("miou", "pixel_accuracy"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, c, item)
        t.setUpdatesEnabled(True)


def _worst_panel() -> _WorstPanel:
    return _WorstPanel()


def _worst_items(view: EvaluationView, iou: float) -> list[dict] | str:
    """Off the GUI thread: the core's list of a semantic evaluation's images, worst first; where this version of
    the core cannot list them, why (a sentence for the panel)."""
    lister = getattr(view, "worst_items", None)
    if lister is None:
        return "This version cannot list a semantic evaluation's images; the figures on the left are complete."
    try:
        rows = [dict(r) for r in lister(limit=WORST_LIMIT, iou_threshold=iou)]
        for r in rows:
            r.setdefault("name", view.catalog.get_item(r["item_id"]).name if "item_id" in r else "?")
        return rows
    except ImportError:           # the core's semantic review is not installed in this build
        return "This version cannot list a semantic evaluation's images; the figures on the left are complete."
