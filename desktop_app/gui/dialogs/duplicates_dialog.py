"""Near-duplicates and leakage of one dataset by a model's embeddings: groups of near-identical items, and the test /
validation items with a near copy in train, with thumbnails and distances; move the leaking items to a subset or
delete them (one transaction each, after a confirmation naming the count).

The report (gui.similar.duplicates_report: Dataset.near_duplicates / leakage) runs on the dialog's task pool, again
whenever the threshold or the model changes; moves and deletions go through the window's actions.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QHBoxLayout,
                               QHeaderView, QLabel, QMessageBox, QPushButton, QTableWidget, QTableWidgetItem,
                               QTabWidget, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop_app.domain.status import ExecutionStatus
from desktop_app.evaluation.similarity import DEFAULT_DUPLICATE_THRESHOLD
from desktop_app.formats.base import SUBSETS

from ..actions import Actions
from ..similar import DuplicateReport, caption, duplicates_report, keep_one_per_group
from ..style import CAUTION_STYLE, muted
from ..thumbnails import THUMB_SIZE, ImageLoader, thumbs_dir
from ..workers import TaskRunner

log = logging.getLogger(__name__)

ICON = 64
RERUN_MS = 400           # the threshold is typed or spun: one report after it rests
POLL_MS = 500
ID = Qt.ItemDataRole.UserRole


def _cell(text: str, item_id: int | None = None) -> QTableWidgetItem:
    c = QTableWidgetItem(text)
    c.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if item_id is not None:
        c.setData(ID, item_id)
    return c


class DuplicatesDialog(QDialog):
    show_items = Signal(list, str, object)   # item ids, a title, distances or None: shown in the gallery
    changed = Signal(str)                    # items moved or deleted: what happened, in one line
    loaded = Signal()                        # a report is on show

    def __init__(self, client: Any, dataset_id: str, parent: QWidget | None = None, *, actions: Any = None,
                 tab: str = "duplicates"):
        super().__init__(parent)
        self.client, self.catalog, self.dataset_id = client, client.catalog, dataset_id
        self._tasks = TaskRunner(self)
        self.actions = Actions.for_page(client, actions, self, self._tasks)
        self.report: DuplicateReport | None = None
        self._gen = 0
        self._busy = False
        self._embed_job: str | None = None
        self._icons: dict[str, list[tuple[Any, int]]] = {}   # thumbnail key -> (tree / table item, column)
        ds = self.catalog.get_dataset(dataset_id)
        self.setWindowTitle(f"Near-duplicates and leakage: {ds.name}")
        self.resize(860, 620)
        self.thumbs = ImageLoader(box=THUMB_SIZE, cache_dir=thumbs_dir(self.catalog.home), memory_items=600,
                                  parent=self)
        self.thumbs.ready.connect(self._on_thumb)

        self.model_box = QComboBox()
        self.model_box.setToolTip("The model whose embeddings (feature set) say which items are alike")
        self.model_box.setMinimumContentsLength(14)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.01)
        self.threshold.setValue(DEFAULT_DUPLICATE_THRESHOLD)
        self.threshold.setToolTip("Cosine distance at or under which two items count as near-duplicates (0: the "
                                  f"same direction; {DEFAULT_DUPLICATE_THRESHOLD} finds cropped, flipped, "
                                  "recoloured and recompressed copies)")
        self.embedders = QComboBox()
        self.embed_button = QPushButton("Embed…")
        self.embed_button.setToolTip("Embed the dataset's items with this model (a job); the report follows")
        self.status = QLabel("Finding near-duplicates…")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Model"))
        top.addWidget(self.model_box)
        top.addSpacing(12)
        top.addWidget(QLabel("Threshold (cosine distance)"))
        top.addWidget(self.threshold)
        top.addStretch(1)
        top.addWidget(self.embedders)
        top.addWidget(self.embed_button)

        # near-duplicate groups
        self.groups = QTreeWidget()
        self.groups.setHeaderLabels(["Item", "Subset", "Nearest in its group"])
        self.groups.setIconSize(QSize(ICON, ICON))
        self.groups.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.groups.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.groups.itemSelectionChanged.connect(self._update_buttons)
        self.groups.itemDoubleClicked.connect(lambda *_: self.show_group())
        self.show_group_button = QPushButton("Show in the gallery")
        self.show_group_button.setToolTip("The gallery lists the selected group's items")
        self.delete_dups_button = QPushButton("Delete selected…")
        self.keep_one_button = QPushButton("Keep one of each, delete the rest…")
        self.keep_one_button.setToolTip("Of each group keep a train item (else the first), delete the others")
        self.show_group_button.clicked.connect(lambda: self.show_group())
        self.delete_dups_button.clicked.connect(lambda: self.delete_items(self.selected_group_items()))
        self.keep_one_button.clicked.connect(self.keep_one)
        dup_tab = QWidget()
        dl = QVBoxLayout(dup_tab)
        dl.addWidget(self.groups, 1)
        row = QHBoxLayout()
        for b in (self.show_group_button, self.delete_dups_button, self.keep_one_button):
            row.addWidget(b)
        row.addStretch(1)
        dl.addLayout(row)

        # leakage
        self.leaks = QTableWidget(0, 4)
        self.leaks.setHorizontalHeaderLabels(["Held-out item", "Subset", "Its near copy in train", "Distance"])
        self.leaks.setIconSize(QSize(ICON, ICON))
        self.leaks.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.leaks.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.leaks.verticalHeader().hide()
        self.leaks.verticalHeader().setDefaultSectionSize(ICON + 8)
        h = self.leaks.horizontalHeader()
        for col, mode in ((0, QHeaderView.ResizeMode.Stretch), (1, QHeaderView.ResizeMode.ResizeToContents),
                          (2, QHeaderView.ResizeMode.Stretch), (3, QHeaderView.ResizeMode.ResizeToContents)):
            h.setSectionResizeMode(col, mode)
        self.leaks.itemSelectionChanged.connect(self._update_buttons)
        self.leak_note = QLabel("A score on these subsets partly measures memory: each item has a near copy the "
                                "model trained on. Move them to train, or drop them.")
        self.leak_note.setWordWrap(True)
        muted(self.leak_note)
        self.target = QComboBox()
        for s in SUBSETS:
            self.target.addItem(s, s)
        self.target.setToolTip("The subset the items move to")
        self.move_selected_button = QPushButton("Move selected…")
        self.move_all_button = QPushButton("Move all…")
        self.delete_selected_button = QPushButton("Delete selected…")
        self.delete_all_button = QPushButton("Delete all…")
        self.show_leaks_button = QPushButton("Show in the gallery")
        self.move_selected_button.clicked.connect(lambda: self.move_items(self.selected_leaks(), self.target_subset))
        self.move_all_button.clicked.connect(lambda: self.move_items(self.all_leaks(), self.target_subset))
        self.delete_selected_button.clicked.connect(lambda: self.delete_items(self.selected_leaks()))
        self.delete_all_button.clicked.connect(lambda: self.delete_items(self.all_leaks()))
        self.show_leaks_button.clicked.connect(self.show_leaks)
        leak_tab = QWidget()
        ll = QVBoxLayout(leak_tab)
        ll.addWidget(self.leak_note)
        ll.addWidget(self.leaks, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Move to"))
        row.addWidget(self.target)
        for b in (self.move_selected_button, self.move_all_button):
            row.addWidget(b)
        row.addSpacing(16)
        for b in (self.delete_selected_button, self.delete_all_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.show_leaks_button)
        ll.addLayout(row)

        self.tabs = QTabWidget()
        self.tabs.addTab(dup_tab, "Near-duplicates")
        self.tabs.addTab(leak_tab, "Leakage")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(buttons)

        self._rerun = QTimer(self)
        self._rerun.setSingleShot(True)
        self._rerun.setInterval(RERUN_MS)
        self._rerun.timeout.connect(lambda: self.run())
        self.threshold.valueChanged.connect(lambda _v: self._rerun.start())
        self.model_box.activated.connect(lambda _i: self.run())
        self.embed_button.clicked.connect(self.embed)
        self.embedders.currentIndexChanged.connect(lambda _i: self._name_embed_button())
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_embed)
        self.show_tab(tab)
        self._show_embed([])
        self._update_buttons()
        self.run()

    # -- the report -----------------------------------------------------------------------
    @property
    def target_subset(self) -> str:
        return self.target.currentData()

    def show_tab(self, tab: str) -> None:
        self.tabs.setCurrentIndex(1 if tab == "leakage" else 0)

    def run(self, model_id: str | None = None) -> None:
        """Compute the report again (the model chosen, the threshold set) on the task pool."""
        self._rerun.stop()
        self._gen += 1
        gen, client, ds = self._gen, self.client, self.dataset_id
        model_id = model_id or self.model_box.currentData()
        threshold = round(self.threshold.value(), 4)
        self._busy = True
        self._update_buttons()
        self.status.setStyleSheet("")
        self.status.setText(f"Finding near-duplicates within {threshold:g}…")
        self._tasks.submit(lambda: duplicates_report(client, ds, model_id=model_id, threshold=threshold),
                           lambda r: self._loaded(gen, r), lambda e: self._failed(gen, e))

    def _failed(self, gen: int, error: BaseException) -> None:
        if gen != self._gen:
            return
        self._busy = False
        self._update_buttons()
        self.status.setStyleSheet(CAUTION_STYLE)
        self.status.setText(f"Could not find near-duplicates: {error}")
        log.warning("near-duplicates of %s failed: %s", self.dataset_id, error)

    def _loaded(self, gen: int, r: DuplicateReport) -> None:
        if gen != self._gen:
            return
        self._busy = False
        self.report = r
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for c in r.choices:
            self.model_box.addItem(c.model_name, c.model_id)
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(r.model_id)))
        self.model_box.setEnabled(len(r.choices) > 1)
        self.model_box.blockSignals(False)
        self._icons.clear()
        self._fill_groups(r)
        self._fill_leaks(r)
        if not r.found:
            self.status.setStyleSheet(CAUTION_STYLE)
            self.status.setText("No model has embedded this dataset's items yet: embed them with a model to find "
                                "near-duplicates" if r.embedders else
                                "No model has embedded this dataset's items, and none of this project has weights "
                                "to embed them with: train one first")
            self._show_embed(r.embedders)
        else:
            self.status.setStyleSheet("")
            n_dup = sum(len(g.items) for g in r.groups)
            self.status.setText(f"By {r.model_name}'s embeddings, within cosine distance {r.threshold:g}: "
                                f"{len(r.groups):,} group(s) of near-duplicates ({n_dup:,} items); "
                                f"{len(r.leaks):,} test / validation item(s) with a near copy in train.")
            self._show_embed([])
        self.tabs.setTabText(0, f"Near-duplicates ({len(r.groups):,})")
        self.tabs.setTabText(1, f"Leakage ({len(r.leaks):,})")
        self._update_buttons()
        self.loaded.emit()

    def _fill_groups(self, r: DuplicateReport) -> None:
        self.groups.clear()
        for n, g in enumerate(r.groups):
            nearest: dict[int, float] = {}
            for a, b, d in g.pairs:
                for i in (a, b):
                    nearest[i] = min(nearest.get(i, 2.0), d)
            top = QTreeWidgetItem([f"Group {n + 1}: {len(g.items)} items", "",
                                   f"up to {g.max_distance:.3f}"])
            top.setData(0, ID, -1 - n)          # a group row: -1 - its index
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            self.groups.addTopLevelItem(top)
            for i in g.items:
                rec = r.items.get(i)
                child = QTreeWidgetItem([caption(rec.name) if rec else f"item {i}", (rec.subset or "") if rec else "",
                                         f"{nearest.get(i, 0.0):.3f}"])
                child.setData(0, ID, i)
                child.setToolTip(0, rec.name if rec else "")
                top.addChild(child)
                self._want_icon(rec, child, 0)
            top.setExpanded(True)

    def _fill_leaks(self, r: DuplicateReport) -> None:
        self.leaks.setRowCount(0)
        self.leaks.setRowCount(len(r.leaks))
        for row, leak in enumerate(r.leaks):
            held, twin = r.items.get(leak.item), r.items.get(leak.twin)
            a = _cell(caption(held.name) if held else f"item {leak.item}", leak.item)
            b = _cell(caption(twin.name) if twin else f"item {leak.twin}", leak.twin)
            self.leaks.setItem(row, 0, a)
            self.leaks.setItem(row, 1, _cell(leak.subset))
            self.leaks.setItem(row, 2, b)
            self.leaks.setItem(row, 3, _cell(f"{leak.distance:.3f}"))
            self._want_icon(held, a, None)
            self._want_icon(twin, b, None)

    def _want_icon(self, rec, cell, column: int | None) -> None:
        if rec is None or not rec.sha256:
            return
        pm = self.thumbs.get(rec.sha256)
        if pm is not None:
            self._set_icon(cell, column, QIcon(pm))
            return
        self._icons.setdefault(rec.sha256, []).append((cell, column))
        self.thumbs.request(rec.sha256, self.catalog.store.path(rec.sha256))

    @staticmethod
    def _set_icon(cell, column: int | None, icon: QIcon) -> None:
        if column is None:
            cell.setIcon(icon)
        else:
            cell.setIcon(column, icon)

    def _on_thumb(self, key: str) -> None:
        pm = self.thumbs.get(key)
        if pm is None:
            return
        icon = QIcon(pm)
        for cell, column in self._icons.pop(key, []):
            try:
                self._set_icon(cell, column, icon)
            except RuntimeError:       # its row was cleared meanwhile (a new report)
                pass

    # -- selection ------------------------------------------------------------------------
    def selected_group_items(self) -> list[int]:
        """The items selected in the groups' tree (a group row stands for all its items), each once."""
        out: dict[int, None] = {}
        for it in self.groups.selectedItems():
            key = it.data(0, ID)
            if key is not None and key < 0:
                for k in range(it.childCount()):
                    out[int(it.child(k).data(0, ID))] = None
            elif key is not None:
                out[int(key)] = None
        return list(out)

    def selected_leaks(self) -> list[int]:
        rows = sorted({i.row() for i in self.leaks.selectedIndexes()})
        return [int(self.leaks.item(r, 0).data(ID)) for r in rows]

    def all_leaks(self) -> list[int]:
        return [lk.item for lk in self.report.leaks] if self.report is not None else []

    def _update_buttons(self) -> None:
        r = self.report
        can_change = not self._busy and not self.catalog.read_only and r is not None and r.found
        group_sel = bool(self.groups.selectedItems())
        leak_sel = bool(self.leaks.selectionModel().hasSelection())
        has_leaks = bool(r is not None and r.leaks)
        self.show_group_button.setEnabled(group_sel)
        self.delete_dups_button.setEnabled(can_change and group_sel)
        self.keep_one_button.setEnabled(can_change and bool(r is not None and r.groups))
        for b in (self.move_selected_button, self.delete_selected_button):
            b.setEnabled(can_change and leak_sel)
        for b in (self.move_all_button, self.delete_all_button):
            b.setEnabled(can_change and has_leaks)
        self.show_leaks_button.setEnabled(has_leaks)

    # -- show, move, delete ---------------------------------------------------------------
    def show_group(self) -> None:
        """The gallery lists the selected group (or items), nearest-first as the tree shows them."""
        it = self.groups.currentItem()
        if it is None or self.report is None:
            return
        top = it if it.parent() is None else it.parent()
        n = -1 - int(top.data(0, ID))
        ids = [int(top.child(k).data(0, ID)) for k in range(top.childCount())]
        self.show_items.emit(ids, f"Near-duplicates, group {n + 1} of {len(self.report.groups)} "
                                  f"(by {self.report.model_name}, within {self.report.threshold:g})", None)

    def show_leaks(self) -> None:
        """The gallery lists each leaking item beside its train copy."""
        if self.report is None or not self.report.leaks:
            return
        ids: dict[int, None] = {}
        for lk in self.report.leaks:
            ids[lk.item] = None
            ids[lk.twin] = None
        self.show_items.emit(list(ids), f"Leakage: {len(self.report.leaks)} held-out item(s), each beside its "
                                        f"near copy in train (by {self.report.model_name})", None)

    def move_items(self, item_ids: list[int], subset: str) -> bool:
        """After a yes naming the count, the items not in `subset` already move there (all or none). True when asked
        to go on."""
        items = self.report.items if self.report is not None else {}
        item_ids = [i for i in item_ids if i not in items or items[i].subset != subset]
        if not item_ids:
            self.status.setText(f"Nothing to move: the items are in {subset} already")
            return False
        n = len(item_ids)
        text = (f"Move {n:,} item{'s' * (n != 1)} to {subset}?\n\nEach has a near copy in train; in {subset} "
                f"{'it is no longer scored' if subset == 'train' else 'it is scored as the others there'}.")
        if QMessageBox.question(self, "Move items", text) != QMessageBox.StandardButton.Yes:
            return False
        self._change(lambda done, fail: self.actions.set_items_subset(item_ids, subset, done, fail,
                                                                      tasks=self._tasks),
                     lambda k: f"Moved {k:,} item(s) to {subset}", "Could not move the items")
        return True

    def delete_items(self, item_ids: list[int]) -> bool:
        """After a yes naming the count, the items and their annotations are deleted (all or none)."""
        if not item_ids:
            return False
        n = len(item_ids)
        text = (f"Delete {n:,} item{'s' * (n != 1)} from the dataset?\n\nTheir annotations go with them; a "
                f"dataset version made before keeps them.")
        if QMessageBox.question(self, "Delete items", text) != QMessageBox.StandardButton.Yes:
            return False
        self._change(lambda done, fail: self.actions.delete_items(item_ids, done, fail, tasks=self._tasks),
                     lambda k: f"Deleted {k:,} near-duplicate item(s)", "Could not delete the items")
        return True

    def keep_one(self) -> bool:
        if self.report is None:
            return False
        return self.delete_items(keep_one_per_group(self.report.groups, self.report.items))

    def _change(self, start, said, failed_title: str) -> None:
        self._busy = True
        self._update_buttons()

        def done(k: int) -> None:
            text = said(k)
            self.changed.emit(text)
            self.run()
            self.status.setText(f"{text}. Finding near-duplicates again…")

        def fail(e: BaseException) -> None:
            self._busy = False
            self._update_buttons()
            self.status.setStyleSheet(CAUTION_STYLE)
            self.status.setText(f"{failed_title}: {e} (nothing was changed)")
            self.actions.hub.exception(failed_title, e)
        start(done, fail)

    # -- embed first ----------------------------------------------------------------------
    def _show_embed(self, embedders: list[tuple[str, str]]) -> None:
        self.embedders.blockSignals(True)
        self.embedders.clear()
        for mid, name in embedders:
            self.embedders.addItem(name, mid)
        self.embedders.blockSignals(False)
        self.embedders.setVisible(len(embedders) > 1)
        self.embed_button.setVisible(bool(embedders) and self._embed_job is None)
        self._name_embed_button()

    def _name_embed_button(self) -> None:
        name = self.embedders.currentText()
        self.embed_button.setText(f"Embed with {name}…" if name else "Embed…")

    def embed(self) -> bool:
        """Embed with <model>…: after a yes, the dataset's items are embedded (a job); the report follows."""
        model_id = self.embedders.currentData()
        if not model_id or self.catalog.read_only:
            return False
        n = self.catalog.count_items(self.dataset_id)
        if QMessageBox.question(self, "Embed the dataset",
                                f"Embed the {n:,} items with {self.embedders.currentText()}?\n\nIt runs as a job "
                                f"(the jobs panel shows it); the report follows when it ends.") \
                != QMessageBox.StandardButton.Yes:
            return False
        self.start_embed(model_id)
        return True

    def start_embed(self, model_id: str) -> None:
        def queued(ex) -> None:
            self._embed_job = ex.id
            self.embed_button.hide()
            self.status.setStyleSheet("")
            self.status.setText("Embedding the dataset… the report follows when the job ends.")
            self._poll.start()

        def failed(e: BaseException) -> None:
            self.status.setStyleSheet(CAUTION_STYLE)
            self.status.setText(f"Could not start embedding: {e}")
        self.actions.embed_datasets(model_id, [self.dataset_id], queued, failed, tasks=self._tasks)

    def _poll_embed(self) -> None:
        if self._embed_job is None:
            self._poll.stop()
            return
        ex = self.catalog.get_execution(self._embed_job)
        if ex.status not in ExecutionStatus.FINAL:
            return
        self._poll.stop()
        self._embed_job = None
        if ex.status == ExecutionStatus.SUCCESS:
            self.run()
        else:
            self.status.setStyleSheet(CAUTION_STYLE)
            self.status.setText(f"The embed job {ex.status}{': ' + ex.error if ex.error else ''}")
            self._show_embed(self.report.embedders if self.report is not None else [])

    # -- closing --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the report's thread and the thumbnail decoders (the page or the window is closing)."""
        self._gen += 1
        self._rerun.stop()
        self._poll.stop()
        self._tasks.wait(10_000)
        self.thumbs.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)
