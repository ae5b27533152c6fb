"""Reviewing images: one evaluation (one pane) or two side by side with synchronised zoom, fixes in place.

`ReviewPanel` steps through a list of items (keyboard: Left / Right), draws the catalog's live annotations
coloured by the evaluation's tags, and turns edits into undoable catalog commands (accept a prediction,
delete / relabel / move / resize ground truth). With `enable_labelling` (the label-next queue) it also shows a
model's predictions as proposals without an evaluation, draws new boxes and gives an image its class, and
`on_edit` may add a command to every edit (the queue's "labelled" mark), undone with it. "Edit mask" (M) fixes a
ground-truth mask with a brush / eraser or a polygon's vertices in place (widgets.mask_editor), each stroke or
vertex edit one undoable command. `ReviewPage` is the page
of its own for two models: the same image in two panes and a "regressions" list (items the second model gets
wrong, the first right).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMenu, QPushButton, QSizePolicy, QSpinBox, QSplitter, QToolButton,
                               QVBoxLayout, QWidget)

from desktop_app.catalog import AnnotationRecord
from desktop_app.errors import NotFoundError
from desktop_app.evaluation.compare import regressions
from desktop_app.evaluation.review import ReviewSession

from desktop_app.domain.annotations import Annotation

from ..review_commands import (AcceptPrediction, AddAnnotation, DeleteAnnotation, EditShape, MoveAnnotation,
                               RelabelAnnotation, current_user, review_mark)
from ..style import muted, title_font
from ..thumbnails import ImageLoader
from ..widgets.mask_editor import MaskEditor, editable
from ..widgets.review_viewer import KIND_COLORS, KIND_TITLES, LAYERS, ReviewViewer
from ..workers import TaskRunner

log = logging.getLogger(__name__)

NEXT_KEYS = ("Right", "N", "Space", "PgDown")
PREVIOUS_KEYS = ("Left", "P", "PgUp")


def _tool(text: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setAutoRaise(True)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return b


class ReviewPanel(QWidget):
    """Next / previous through a list of items, one pane per evaluation, layer toggles, fixes, undo / redo."""

    closed = Signal()
    changed = Signal(int)                 # item id whose ground truth changed
    item_shown = Signal(int)              # item id now on screen

    def __init__(self, client: Any, panes: int = 1, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.who = current_user()
        self.sessions: list[ReviewSession] = []
        self.item_ids: list[int] = []
        self.focus: dict[int, int] = {}
        self.pos = -1
        self.active = 0
        self._syncing = False
        self.proposal_model_id: str | None = None     # without an evaluation: this model's predictions, as proposals
        # Every edit is pushed with the command this returns for its item (None: nothing more), as one undo step.
        self.on_edit: Callable[[int], QUndoCommand | None] | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.indexChanged.connect(self._on_undo_index)
        self.images = ImageLoader(box=None, memory_items=6, threads=1, parent=self)
        self.images.ready.connect(self._on_image)

        self.prev_button = _tool("◀", "Previous image (Left, P)")
        self.next_button = _tool("▶", "Next image (Right, N, Space)")
        self.position = QLabel()
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reviewed = QLabel()
        self.layer_boxes: dict[str, QCheckBox] = {}
        self.accept_button = QPushButton("Accept")
        self.accept_button.setToolTip("Add the selected prediction to the ground truth (A)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected ground truth (Del)")
        self.relabel_button = QPushButton("Relabel…")
        self.relabel_button.setToolTip("Give the selected ground truth another label (L)")
        self.undo_button = _tool("↶", "Undo (Ctrl+Z)")
        self.redo_button = _tool("↷", "Redo (Ctrl+Shift+Z)")
        self.scores_box = QCheckBox("Scores")
        self.scores_box.setChecked(True)
        self.draw_button = QPushButton("Draw box")
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip("Drag on the image to draw a ground-truth box with the label beside (B)")
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("The label of a box drawn, or the class Set class gives the image")
        self.class_button = QPushButton("Set class")
        self.class_button.setToolTip("Give the image the class chosen beside (C): relabels its class if it has one")
        for w in (self.draw_button, self.label_combo, self.class_button):
            w.setVisible(False)
        self.edit_button = QPushButton("Edit mask")
        self.edit_button.setCheckable(True)
        self.edit_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.edit_button.setToolTip("Fix a ground-truth mask with a brush (B) or an eraser (E), [ ] for its size; "
                                    "or a polygon: drag a vertex, double-click an edge to add one, right-click or "
                                    "Del removes one (M; Esc leaves)")
        self.brush_button = _tool("Brush", "Paint pixels into the mask (B)")
        self.eraser_button = _tool("Eraser", "Erase pixels from the mask (E)")
        self.tool_group = QButtonGroup(self)
        for b in (self.brush_button, self.eraser_button):
            b.setCheckable(True)
            self.tool_group.addButton(b)
        self.brush_button.setChecked(True)
        self.radius_spin = QSpinBox()
        self.radius_spin.setRange(1, 200)
        self.radius_spin.setValue(8)
        self.radius_spin.setSuffix(" px")
        self.radius_spin.setPrefix("r ")
        self.radius_spin.setToolTip("Brush / eraser radius in image pixels ([ smaller, ] larger)")
        self.radius_spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.edit_tools = (self.brush_button, self.eraser_button, self.radius_spin)
        for w in self.edit_tools:
            w.setVisible(False)
        self.fit_button = _tool("Fit", "Fit the image (0, double-click)")
        self.close_button = _tool("✕", "Back to the gallery (Esc)")

        # two rows: where am I (and back), then what is drawn and what can be done to it
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        # "1 / 1" then "4/d0134.png" read as "1 / 14/d0134.png": a dot between, as in the dataset's viewer
        self.separator = QLabel("·")
        for w in (self.prev_button, self.next_button, self.position, self.separator):
            bar.addWidget(w)
        self.title.setMinimumWidth(60)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.reviewed)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.close_button)
        tools = QHBoxLayout()
        tools.setContentsMargins(4, 0, 4, 2)
        for kind in ("gt", "tp", "fp", "fn"):
            cb = QCheckBox(KIND_TITLES[kind])
            cb.setChecked(True)
            cb.setToolTip(f"Show the {KIND_TITLES[kind]} boxes")
            cb.setStyleSheet(f"QCheckBox {{ color: {KIND_COLORS[kind]}; font-weight: 600; }}")
            cb.toggled.connect(lambda on, k=kind: self.set_layer_visible(k, on))
            self.layer_boxes[kind] = cb
            tools.addWidget(cb)
        self.pred_box = QCheckBox(KIND_TITLES["pred"])
        self.pred_box.setChecked(True)
        self.pred_box.setToolTip("Show the model's predictions (proposals: accept one with A)")
        self.pred_box.setStyleSheet(f"QCheckBox {{ color: {KIND_COLORS['pred']}; font-weight: 600; }}")
        self.pred_box.toggled.connect(lambda on: [v.set_layer_visible(LAYERS["pred"], on) for v in self.viewers])
        self.pred_box.setVisible(False)
        tools.addWidget(self.pred_box)
        tools.addWidget(self.scores_box)
        tools.addStretch(1)
        for w in (self.draw_button, self.label_combo, self.class_button, self.edit_button, *self.edit_tools):
            tools.addWidget(w)
        for w in (self.accept_button, self.delete_button, self.relabel_button, self.undo_button, self.redo_button):
            tools.addWidget(w)

        self.viewers: list[ReviewViewer] = []
        self.pane_titles: list[QLabel] = []
        self.panes = QSplitter(Qt.Orientation.Horizontal)
        for k in range(panes):
            box = QWidget()
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.setSpacing(2)
            t = QLabel()
            t.setAlignment(Qt.AlignmentFlag.AlignCenter)
            viewer = ReviewViewer()
            viewer.annotation_selected.connect(lambda rec, k=k: self._on_selected(k, rec))
            viewer.box_edited.connect(lambda aid, old, new, k=k: self._on_box_edited(k, aid, old, new))
            viewer.box_drawn.connect(lambda box, k=k: self._on_box_drawn(k, box))
            bl.addWidget(t)
            bl.addWidget(viewer, 1)
            self.panes.addWidget(box)
            self.viewers.append(viewer)
            self.pane_titles.append(t)
        if panes > 1:
            self._sync_panes()
        self.editors: list[MaskEditor] = []
        for k, viewer in enumerate(self.viewers):
            ed = MaskEditor(viewer)
            ed.edited.connect(lambda rec, old, new, text, k=k: self._on_shape_edited(k, rec, old, new, text))
            ed.refused.connect(self._on_edit_refused)
            ed.target_changed.connect(lambda rec, k=k: self._on_edit_target(k, rec))
            ed.tool_changed.connect(self._on_tool_changed)
            ed.finished.connect(lambda: self.set_edit_mode(False))
            self.editors.append(ed)
        self.hint = QLabel("Click a box or a class chip to select it. Drag a ground-truth box to move it, a corner "
                           "of a selected one to resize it; A accepts a prediction, Del deletes, L relabels, Ctrl+Z "
                           "undoes. Saved at once.")
        muted(self.hint)
        self.hint.setWordWrap(True)
        self._hint_text = ""       # the hint before edit mode took it over
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addLayout(tools)
        lay.addWidget(self.panes, 1)
        lay.addWidget(self.hint)

        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.accept_button.clicked.connect(self.accept_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.relabel_button.clicked.connect(self._relabel_menu)
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.scores_box.toggled.connect(lambda on: [v.set_show_scores(on) for v in self.viewers])
        self.fit_button.clicked.connect(lambda: [v.fit() for v in self.viewers])
        self.close_button.clicked.connect(self.closed)
        self.draw_button.toggled.connect(lambda on: [v.set_draw_mode(on) for v in self.viewers])
        self.class_button.clicked.connect(lambda: self.set_class(self.label_combo.currentText()))
        self.edit_button.toggled.connect(self.set_edit_mode)
        self.brush_button.clicked.connect(lambda: self.editor.set_tool("brush"))
        self.eraser_button.clicked.connect(lambda: self.editor.set_tool("eraser"))
        self.radius_spin.valueChanged.connect(lambda r: [e.set_radius(r) for e in self.editors if e.radius != r])
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in ((NEXT_KEYS, self.next), (PREVIOUS_KEYS, self.previous), (("Esc",), self._escape),
                           (("A",), self.accept_selected), (("Delete",), self.delete_selected),
                           (("L", "F2"), self._relabel_menu), ((QKeySequence.StandardKey.Undo,), self.undo_stack.undo),
                           ((QKeySequence.StandardKey.Redo, "Ctrl+Shift+Z"), self.undo_stack.redo),
                           (("B",), self._toggle_draw), (("C",), self._set_class_key),
                           (("M",), self._toggle_edit), (("E",), lambda: self._edit_key(Qt.Key.Key_E)),
                           (("[",), lambda: self._edit_key(Qt.Key.Key_BracketLeft)),
                           (("]",), lambda: self._edit_key(Qt.Key.Key_BracketRight))):
            for k in keys:
                QShortcut(QKeySequence(k), self, slot, ctx)
        self._update_actions()

    # -- binding ----------------------------------------------------------------------------
    def set_sessions(self, sessions: list[ReviewSession], titles: list[str] | None = None) -> None:
        self.sessions = list(sessions)[:len(self.viewers)]
        for k, t in enumerate(self.pane_titles):
            t.setText((titles or [""] * len(self.viewers))[k] if k < len(titles or []) else "")
            t.setVisible(bool(t.text()))
        self.undo_stack.clear()

    def enable_labelling(self, model_id: str | None, labels: list[str], boxes: bool = True) -> None:
        """Labelling mode (the label-next queue): `model_id`'s predictions drawn as proposals, with `labels` to
        choose from: Draw box for a box model (`boxes`), Set class for a classifier."""
        self.proposal_model_id = model_id
        self.label_combo.clear()
        self.label_combo.addItems(list(labels))
        for w in (self.label_combo, self.pred_box):
            w.setVisible(True)
        self.draw_button.setVisible(boxes)
        self.class_button.setVisible(not boxes)
        for kind in ("tp", "fp", "fn"):      # no evaluation: nothing is TP / FP / FN
            self.layer_boxes[kind].setVisible(False)
        how = ("B draws a box with the label chosen; drag a ground-truth box to move it, a corner to resize it"
               if boxes else "C gives the image the class chosen")
        self.hint.setText(f"Click a proposal (violet) and press A to accept it; {how}. Del deletes, L relabels, "
                          f"S skips, Enter marks the image done as it is, Ctrl+Z undoes. Saved at once.")

    def set_items(self, item_ids: list[int], start: int = 0, focus: dict[int, int] | None = None) -> None:
        """The list to step through (the gallery's order) and, per item, the annotation to select."""
        self.item_ids = [int(i) for i in item_ids]
        self.focus = dict(focus or {})
        self.pos = -1
        if self.item_ids:
            self.show_index(max(0, min(start, len(self.item_ids) - 1)))
        else:
            for v in self.viewers:
                v.show_annotations([], {})
                v.set_image(None, (1, 1))
            self._update_bar()

    @property
    def current_item_id(self) -> int | None:
        return self.item_ids[self.pos] if 0 <= self.pos < len(self.item_ids) else None

    def show_index(self, i: int) -> None:
        if not 0 <= i < len(self.item_ids):
            return
        self.pos = i
        for ed in self.editors:
            ed.set_target(None)
        self.reload()
        item = self.catalog.get_item(self.item_ids[i])
        pm = None
        if item.sha256:
            pm = self.images.get(item.sha256)
            if pm is None:
                self.images.request(item.sha256, self.catalog.store.path(item.sha256))
        for v in self.viewers:
            v.set_image(pm, (item.width or 1, item.height or 1))
        self.item_shown.emit(item.id)

    def next(self) -> None:
        self.show_index(self.pos + 1)

    def previous(self) -> None:
        self.show_index(self.pos - 1)

    def reload(self) -> None:
        """Redraw the current item from the catalog (after a fix, or on arrival)."""
        item_id = self.current_item_id
        if item_id is None:
            return
        records = self.catalog.list_annotations(item_ids=[item_id])
        gt = [r for r in records if not r.is_prediction]
        for k, v in enumerate(self.viewers):
            s = self.sessions[k] if k < len(self.sessions) else None
            model_id = s.view.model_id if s is not None else self.proposal_model_id
            preds = [r for r in records if r.is_prediction and r.model_id == model_id]
            if s is None:       # proposals: one accepted already is the ground truth drawn, not a proposal still
                taken = {(r.metadata or {}).get("accepted_from") for r in gt}
                preds = [r for r in preds if r.id not in taken]
            tags = s.item_tags(item_id) if s is not None else {r.id: "pred" for r in preds}
            focus = self.focus.get(item_id) if k == self.active or len(self.viewers) == 1 else None
            v.show_annotations(gt + preds, tags, focus)
        self._update_bar()

    def _update_bar(self) -> None:
        n = len(self.item_ids)
        self.position.setText(f"{self.pos + 1:,} / {n:,}" if self.pos >= 0 else f"– / {n:,}")
        self.prev_button.setEnabled(self.pos > 0)
        self.next_button.setEnabled(0 <= self.pos < n - 1)
        item_id = self.current_item_id
        self.separator.setVisible(item_id is not None)
        if item_id is None:
            self.title.setText("")
            self.reviewed.setText("")
            return
        item = self.catalog.get_item(item_id)
        self.title.setText(item.name)
        self.title.setToolTip(f"{item.name} (item {item.id})")
        mark = review_mark(item) if item.reviewed else None
        self.reviewed.setText(f"✓ reviewed by {mark['by']}, {mark['at'][:16].replace('T', ' ')} UTC" if mark
                              else "✓ reviewed" if item.reviewed else "")
        self._update_actions()

    def _on_image(self, key: str) -> None:
        item_id = self.current_item_id
        if item_id is None:
            return
        item = self.catalog.get_item(item_id)
        if item.sha256 == key:
            for v in self.viewers:
                v.set_image(self.images.get(key), (item.width or 1, item.height or 1))

    # -- layers and panes -------------------------------------------------------------------
    def set_layer_visible(self, kind: str, on: bool) -> None:
        for v in self.viewers:
            v.set_layer_visible(LAYERS[kind], on)
        box = self.layer_boxes[kind]
        if box.isChecked() != on:
            box.blockSignals(True)
            box.setChecked(on)
            box.blockSignals(False)

    def _sync_panes(self) -> None:
        """Zoom and scroll of one pane follow the other's (the same image, so the same scene)."""
        a, b = self.viewers[0], self.viewers[1]

        def follow(src: ReviewViewer, dst: ReviewViewer) -> None:
            def zoom(z: float) -> None:
                if not self._syncing:
                    self._syncing = True
                    dst.zoom_to(z)
                    self._syncing = False

            def scroll(sb_name: str):
                def f(value: int) -> None:
                    if not self._syncing:
                        self._syncing = True
                        getattr(dst, sb_name)().setValue(value)
                        self._syncing = False
                return f
            src.zoom_changed.connect(zoom)
            src.horizontalScrollBar().valueChanged.connect(scroll("horizontalScrollBar"))
            src.verticalScrollBar().valueChanged.connect(scroll("verticalScrollBar"))
        follow(a, b)
        follow(b, a)

    # -- fixes ------------------------------------------------------------------------------
    def selected(self) -> AnnotationRecord | None:
        if not self.viewers:
            return None
        return self.viewers[self.active].selected_annotation()

    def _on_selected(self, pane: int, rec: AnnotationRecord | None) -> None:
        if rec is not None:
            self.active = pane
        self._update_actions()

    def _update_actions(self) -> None:
        rec = self.selected()
        editor = self.editor if self.editors else None
        self.edit_button.setEnabled(self.edit_button.isChecked() or editable(rec) or
                                    (editor is not None and bool(editor.candidates())))
        self.accept_button.setEnabled(rec is not None and rec.is_prediction)
        self.delete_button.setEnabled(rec is not None and not rec.is_prediction)
        self.relabel_button.setEnabled(rec is not None and not rec.is_prediction)
        self.undo_button.setEnabled(self.undo_stack.canUndo())
        self.redo_button.setEnabled(self.undo_stack.canRedo())
        self.undo_button.setToolTip(f"Undo {self.undo_stack.undoText()} (Ctrl+Z)" if self.undo_stack.canUndo()
                                    else "Undo (Ctrl+Z)")
        self.redo_button.setToolTip(f"Redo {self.undo_stack.redoText()} (Ctrl+Shift+Z)"
                                    if self.undo_stack.canRedo() else "Redo (Ctrl+Shift+Z)")

    def _on_undo_index(self, _index: int) -> None:
        try:
            self._update_actions()
        except RuntimeError:   # the stack is being destroyed with the panel
            pass

    def _done(self, item_id: int) -> None:
        if item_id == self.current_item_id:
            keep = self.selected()
            self.reload()
            if keep is not None:
                self.viewers[self.active].select_annotation(keep.id)
            self._refresh_edit_target()
        self.changed.emit(item_id)

    def _push(self, cmd: QUndoCommand, item_id: int) -> None:
        """Push an edit; with `on_edit`, the command it gives for the item goes with it, one undo step."""
        extra = self.on_edit(item_id) if self.on_edit is not None else None
        if extra is None:
            self.undo_stack.push(cmd)
            return
        self.undo_stack.beginMacro(cmd.text())
        self.undo_stack.push(cmd)
        self.undo_stack.push(extra)
        self.undo_stack.endMacro()

    def accept_selected(self) -> int | None:
        """The selected prediction becomes ground truth; returns the new annotation's id."""
        rec = self.selected()
        if rec is None or not rec.is_prediction:
            return None
        if rec.type == "class":
            # One class per image: accepting a predicted class replaces the ground truth's class (relabels
            # it), rather than adding a second class to the image.
            gt = self.catalog.list_annotations(item_ids=[rec.item_id], ground_truth=True, types=["class"])
            if len(gt) == 1:
                if gt[0].label != rec.label:
                    self._push(RelabelAnnotation(self.catalog, gt[0], rec.label, who=self.who,
                                                 on_change=self._done), rec.item_id)
                elif self.on_edit is not None:   # the queue: agreeing with the class already there labels it
                    extra = self.on_edit(rec.item_id)
                    if extra is not None:
                        self.undo_stack.push(extra)
                return gt[0].id
        cmd = AcceptPrediction(self.catalog, rec, who=self.who, on_change=self._done)
        self._push(cmd, rec.item_id)
        return cmd.created_id

    def delete_selected(self) -> None:
        if self.edit_button.isChecked() and self.editor.rings is not None:   # Del removes the selected vertex
            self.editor.delete_selected_vertex()
            return
        rec = self.selected()
        if rec is None or rec.is_prediction:
            return
        self._push(DeleteAnnotation(self.catalog, rec, who=self.who, on_change=self._done), rec.item_id)

    def relabel_selected(self, label: str) -> None:
        rec = self.selected()
        if rec is None or rec.is_prediction or not label or label == rec.label:
            return
        self._push(RelabelAnnotation(self.catalog, rec, label, who=self.who, on_change=self._done), rec.item_id)

    def _relabel_menu(self) -> None:
        rec = self.selected()
        if rec is None or rec.is_prediction:
            return
        menu = QMenu(self)
        for lb in self._labels():
            a = menu.addAction(lb)
            a.setEnabled(lb != rec.label)
            a.triggered.connect(lambda _=False, lb=lb: self.relabel_selected(lb))
        menu.popup(self.relabel_button.mapToGlobal(self.relabel_button.rect().bottomLeft()))

    def _labels(self) -> list[str]:
        labels: list[str] = []
        for s in self.sessions:
            labels += [lb for lb in s.labels if lb not in labels and lb != "(no prediction)"]
        if self.current_item_id is not None:
            ds = self.catalog.get_dataset(self.catalog.get_item(self.current_item_id).dataset_id)
            labels += [lb for lb in ds.labels if lb not in labels]
        return labels

    def move_annotation(self, annotation_id: int, new_box: list[float]) -> None:
        rec = self.catalog.get_annotation(annotation_id)
        self._on_box_edited(self.active, annotation_id, rec.box, list(new_box))

    def _on_box_edited(self, pane: int, annotation_id: int, old: list, new: list) -> None:
        self.active = pane
        rec = self.catalog.get_annotation(annotation_id)
        if rec.is_prediction:
            return
        if rec.type != "box":     # a mask's or polygon's box is where its pixels are: fixed with Edit mask
            self.hint.setText(f"{rec.label} is a {'mask' if rec.type == 'binary' else rec.type}: fix it with Edit "
                              f"mask (M), not by moving its box.")
            self._done(rec.item_id)
            return
        self._push(MoveAnnotation(self.catalog, rec, old, new, who=self.who, on_change=self._done), rec.item_id)

    # -- mask / polygon editing --------------------------------------------------------------
    @property
    def editor(self) -> MaskEditor:
        """The mask editor of the active pane."""
        return self.editors[self.active]

    def set_edit_mode(self, on: bool) -> None:
        """Edit mode: the active pane's editor takes the mouse; the selected mask or polygon is its target (else
        a click picks one)."""
        if self.edit_button.isChecked() != on:
            self.edit_button.setChecked(on)      # comes back here through toggled
            return
        if on and self.draw_button.isChecked():
            self.draw_button.setChecked(False)
        for k, ed in enumerate(self.editors):
            ed.set_active(on and k == self.active)
        for w in self.edit_tools:
            w.setVisible(on)
        if on:
            self._hint_text = self.hint.text()
            rec = self.selected()
            if not (editable(rec) and self.editor.set_target(rec)):
                self._on_edit_target(self.active, None)
            self.viewers[self.active].setFocus()
        else:
            self.hint.setText(self._hint_text)
        self._update_actions()

    def _toggle_edit(self) -> None:
        if self.edit_button.isEnabled():
            self.edit_button.toggle()

    def _edit_key(self, key: Qt.Key) -> None:
        if self.edit_button.isChecked():
            self.editor.key(key)

    def _escape(self) -> None:
        if self.edit_button.isChecked():
            self.set_edit_mode(False)
        else:
            self.closed.emit()

    def _refresh_edit_target(self) -> None:
        """After a change (an edit, its undo): the target again as stored, or nothing if it is gone."""
        ed = self.editor if self.editors else None
        if ed is None or not ed.active or ed.target is None:
            return
        try:
            rec = self.catalog.get_annotation(ed.target.id)
        except NotFoundError:
            rec = None
        ed.follow(rec if rec is not None and rec.item_id == self.current_item_id else None)

    def _on_edit_target(self, pane: int, rec: AnnotationRecord | None) -> None:
        if pane != self.active or not self.edit_button.isChecked():
            return
        if rec is None:
            self.hint.setText("Edit mask: click a ground-truth mask or polygon to fix it. Esc leaves edit mode.")
        elif rec.type == "binary":
            self.hint.setText(f"Editing the mask of {rec.label}: drag to paint (B brush, E eraser), [ ] change the "
                              f"size; each stroke is saved at once, Ctrl+Z undoes it. Esc leaves edit mode.")
        else:
            self.hint.setText(f"Editing the polygon of {rec.label}: drag a vertex, double-click an edge to add one, "
                              f"right-click a vertex or select it and press Del to remove it; saved at once, Ctrl+Z "
                              f"undoes. Esc leaves edit mode.")
        for w in self.edit_tools:
            w.setEnabled(rec is not None and rec.type == "binary")

    def _on_tool_changed(self, tool: str, radius: int) -> None:
        (self.brush_button if tool == "brush" else self.eraser_button).setChecked(True)
        if self.radius_spin.value() != radius:
            self.radius_spin.setValue(radius)

    def _on_edit_refused(self, why: str) -> None:
        self.hint.setText(why)
        log.info("mask edit refused: %s", why)

    def _on_shape_edited(self, pane: int, rec: AnnotationRecord, old: Any, new: Any, text: str) -> None:
        self.active = pane
        self._push(EditShape(self.catalog, rec, old, new, text=text, who=self.who, on_change=self._done),
                   rec.item_id)

    # -- labelling (the label-next queue) ----------------------------------------------------
    def draw_box(self, box: list[float], label: str | None = None) -> int | None:
        """A new ground-truth box on the current item (label: the one chosen); the new annotation's id."""
        item_id, label = self.current_item_id, label or self.label_combo.currentText()
        if item_id is None or not label:
            if not label:
                self.hint.setText("Choose a label beside Draw box first.")
            return None
        l, t, r, b = (float(v) for v in box)
        cmd = AddAnnotation(self.catalog, item_id, Annotation(type="box", label=label, coordinates=[l, t, r, b]),
                            who=self.who, on_change=self._done)
        self._push(cmd, item_id)
        return cmd.created_id

    def set_class(self, label: str) -> None:
        """The current item's class becomes `label`: its one ground-truth class relabelled, else a new one."""
        item_id = self.current_item_id
        if item_id is None or not label:
            return
        gt = self.catalog.list_annotations(item_ids=[item_id], ground_truth=True, types=["class"])
        if len(gt) == 1:
            if gt[0].label != label:
                self._push(RelabelAnnotation(self.catalog, gt[0], label, who=self.who, on_change=self._done), item_id)
            return
        self._push(AddAnnotation(self.catalog, item_id, Annotation(type="class", label=label), who=self.who,
                                 on_change=self._done), item_id)

    def _on_box_drawn(self, pane: int, box: list) -> None:
        self.active = pane
        self.draw_box(box)

    def _toggle_draw(self) -> None:
        if self.edit_button.isChecked():
            self.editor.set_tool("brush")
        elif self.draw_button.isVisible():
            self.draw_button.toggle()

    def _set_class_key(self) -> None:
        if self.class_button.isVisible():
            self.set_class(self.label_combo.currentText())

    def shutdown(self) -> None:
        self.images.shutdown()


class ReviewPage(QWidget):
    """Two evaluations of one dataset side by side: which images got worse, better, or stay wrong."""

    message = Signal(str)
    navigate = Signal(str, str)
    loaded = Signal()

    FILTERS = (("regressions", "Regressions: wrong in B, right in A"),
               ("improvements", "Improvements: wrong in A, right in B"),
               ("b_wrong", "Everything B gets wrong"), ("a_wrong", "Everything A gets wrong"),
               ("both", "Wrong in both"))

    def __init__(self, client: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.sessions: list[ReviewSession] = []
        self.ident = ""
        self.tasks = TaskRunner(self)
        self._gen = 0
        self.title = QLabel("Review")
        self.title.setFont(title_font(self.font(), 1.3))
        self.subtitle = QLabel()
        muted(self.subtitle)
        self.filter = QComboBox()
        for key, text in self.FILTERS:
            self.filter.addItem(text, key)
        self.filter.currentIndexChanged.connect(lambda _i: self.refresh_list())
        self.count = QLabel()
        muted(self.count)
        self.list = QListWidget()
        self.list.setMinimumWidth(160)
        self.list.currentRowChanged.connect(self._on_row)
        self.panel = ReviewPanel(client, panes=2)
        self.panel.close_button.hide()
        self.panel.item_shown.connect(self._follow_panel)
        self.panel.changed.connect(lambda _i: self.message.emit("Saved; re-score the evaluations to count the fix."))
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.filter)
        ll.addWidget(self.count)
        ll.addWidget(self.list, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.panel)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 1000])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.subtitle)
        lay.addWidget(split, 1)

    def set_evaluations(self, ident: str) -> None:
        """`ident`: 'evaluation id A,evaluation id B' (A the reference, B the model under review)."""
        if ident == self.ident and self.sessions:
            return
        self.ident = ident
        ids = [x for x in ident.split(",") if x][:2]
        from desktop_app.evaluation.store import EvaluationView
        views = [EvaluationView(self.catalog, self.catalog.get_evaluation(i)) for i in ids]
        names = [self.catalog.get_model(v.model_id).name for v in views]
        ds = self.catalog.get_dataset(views[0].dataset_id)
        self.names = names
        self.title.setText(f"Review: {names[0]} (A) vs {names[-1]} (B)")
        self.subtitle.setText(f"dataset {ds.name} · evaluations {', '.join(v.name for v in views)} · loading…")
        self._gen += 1
        gen = self._gen
        self.tasks.submit(lambda: [ReviewSession(v) for v in views], lambda s: self._loaded(gen, s),
                          lambda e: self.message.emit(f"Could not load the evaluations: {e}"))

    def _loaded(self, gen: int, sessions: list[ReviewSession]) -> None:
        if gen != self._gen:
            return
        self.sessions = sessions
        self.panel.set_sessions(sessions, [f"A: {self.names[0]}", f"B: {self.names[-1]}"])
        self.subtitle.setText(self.subtitle.text().replace(" · loading…", ""))
        self.refresh_list()
        self.loaded.emit()

    def item_lists(self) -> dict[str, list[int]]:
        a, b = self.sessions[0], self.sessions[-1]
        ea, eb = a.item_errors(), b.item_errors()
        ia, ib = a.table.item_ids.tolist(), b.table.item_ids.tolist()
        common = sorted(set(ia) & set(ib))
        return {"regressions": regressions(ea, eb, ia, ib), "improvements": regressions(eb, ea, ib, ia),
                "b_wrong": sorted((i for i in common if eb.get(i)), key=lambda i: (-eb[i], i)),
                "a_wrong": sorted((i for i in common if ea.get(i)), key=lambda i: (-ea[i], i)),
                "both": sorted((i for i in common if ea.get(i) and eb.get(i)), key=lambda i: (-eb[i], i))}

    def refresh_list(self) -> None:
        if not self.sessions:
            return
        ids = self.item_lists()[self.filter.currentData()]
        ea, eb = self.sessions[0].item_errors(), self.sessions[-1].item_errors()
        self.list.blockSignals(True)
        self.list.clear()
        for i in ids:
            name = self.catalog.get_item(i).name.rsplit("/", 1)[-1]
            it = QListWidgetItem(f"{name}   A {ea.get(i, 0)} · B {eb.get(i, 0)} mistakes")
            it.setData(Qt.ItemDataRole.UserRole, i)
            self.list.addItem(it)
        self.list.blockSignals(False)
        self.count.setText(f"{len(ids):,} image(s)")
        self.panel.set_items(ids)
        if ids:
            self.list.setCurrentRow(0)

    def _on_row(self, row: int) -> None:
        if row >= 0 and row != self.panel.pos:
            self.panel.show_index(row)

    def _follow_panel(self, _item_id: int) -> None:
        if self.list.currentRow() != self.panel.pos:
            self.list.blockSignals(True)
            self.list.setCurrentRow(self.panel.pos)
            self.list.blockSignals(False)

    def shutdown(self) -> None:
        self.tasks.wait(10_000)
        self.panel.shutdown()
