"""The promotion gate as typed fields (metric, min improvement, class drop, checks, thresholds); binds only:
texts in and out, GateSpec's messages shown under the fields (desktop_app.pipelines.draft does the work)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from .checked_field import CheckedField

LABELS = {"metric": "Metric", "min_improvement": "Min improvement", "max_class_drop": "Max class drop",
          "class_metric": "Class metric", "checks": "Checks to win", "min_wins": "Min wins",
          "conf_threshold": "Min confidence", "iou_threshold": "IoU to match"}
TIPS = {
    "metric": "The summary figure the challenger must improve on the frozen test items (fp / fn: lower is better)",
    "min_improvement": "Challenger − champion must reach this, and be above 0: a tie never promotes",
    "max_class_drop": "No class's class metric may fall by more than this; blank: not checked",
    "class_metric": "The per-class figure of the class-drop check and of the 'classes' check",
    "checks": "More figures to win, comma separated: summary metrics, 'classes' (one check per class) or "
              "'class:<label>'",
    "min_wins": "How many checks the challenger must win: a count (2) or a fraction below 1 (0.75); blank: all",
    "conf_threshold": "Evaluation setting for both models: predictions below this confidence are dropped",
    "iou_threshold": "Evaluation setting for both models (detection): the overlap a box needs to match",
}
PLACEHOLDERS = {"max_class_drop": "off, e.g. 0.05", "checks": "none, e.g. macro_f1, classes",
                "min_wins": "all"}
MAIN = (("metric", "min_improvement"), ("max_class_drop", "class_metric"))
MORE = (("checks", "min_wins"), ("conf_threshold", "iou_threshold"))


class GateEditor(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        from superqt import QCollapsible
        super().__init__(parent)
        self.kind: Any = None
        self.editors: dict[str, QComboBox | QLineEdit] = {}
        self.fields: dict[str, CheckedField] = {}
        self._labels: dict[str, QLabel] = {}
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        v.addWidget(self._grid(MAIN))
        self.more = QCollapsible("More: checks to win, evaluation thresholds", expandedIcon="▾", collapsedIcon="▸")
        self.more.setDuration(0)  # no animation: instant, and testable without waiting
        self.more.layout().setContentsMargins(0, 0, 0, 0)
        self.more.content().layout().setContentsMargins(0, 0, 0, 0)  # its 5 px indent would skew the columns
        self.more.addWidget(self._grid(MORE))
        v.addWidget(self.more)
        for col in (0, 1):  # the two grids line up: each label column as wide as its widest label
            labels = [self._labels[keys[col]] for keys in (*MAIN, *MORE)]
            width = max(label.sizeHint().width() for label in labels)
            for label in labels:
                label.setMinimumWidth(width)

    def _grid(self, rows: tuple) -> QWidget:
        w = QWidget()
        grid = QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        for r, keys in enumerate(rows):
            for c, key in enumerate(keys):
                editor = self._editor(key)
                label = QLabel(LABELS[key])
                label.setToolTip(TIPS[key])
                label.setBuddy(editor)
                self.editors[key], self._labels[key] = editor, label
                self.fields[key] = CheckedField(editor, reserve=True)   # typed: no jump at each key
                # Top-aligned, the label one editor high: a message under a neighbour leaves rows level.
                label.setFixedHeight(editor.sizeHint().height())
                grid.addWidget(label, r, 2 * c, Qt.AlignmentFlag.AlignTop)
                grid.addWidget(self.fields[key], r, 2 * c + 1, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        return w

    def _editor(self, key: str) -> QComboBox | QLineEdit:
        if key in ("metric", "class_metric"):
            e = QComboBox()
            e.setEditable(True)               # typed names reach the core, which says what it reports
            e.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            e.editTextChanged.connect(self._on_change)
        else:
            e = QLineEdit()
            e.setPlaceholderText(PLACEHOLDERS.get(key, ""))
            e.textChanged.connect(self._on_change)
        e.setObjectName(f"gate_{key}")
        e.setProperty("tip", TIPS[key])
        e.setToolTip(TIPS[key])
        e.setMinimumWidth(90)
        return e

    # -- binding ----------------------------------------------------------------------------------
    def set_kind(self, kind: Any) -> None:
        """The metrics a gate of this kind can name (draft.GateKind), and its defaults as placeholders."""
        self.kind = kind
        self.blockSignals(True)
        try:
            for key, names in (("metric", kind.metrics), ("class_metric", kind.class_metrics)):
                e = self.editors[key]
                text = e.currentText()
                e.clear()
                e.addItems(names)
                e.setCurrentText(text or kind.defaults[key])
            for key in ("min_improvement", "conf_threshold", "iou_threshold"):
                self.editors[key].setPlaceholderText(f"{kind.defaults[key]:g}")
            detection = kind.method == "coco"   # the IoU setting means nothing to a classifier
            self.fields["iou_threshold"].setVisible(detection)
            self._labels["iou_threshold"].setVisible(detection)
        finally:
            self.blockSignals(False)

    def set_texts(self, texts: dict[str, str]) -> None:
        self.blockSignals(True)
        try:
            for key, e in self.editors.items():
                text = texts.get(key, "")
                e.setCurrentText(text) if isinstance(e, QComboBox) else e.setText(text)
        finally:
            self.blockSignals(False)
        if any(texts.get(k) for row in MORE for k in row):
            self.more.expand(animate=False)

    def texts(self) -> dict[str, str]:
        return {k: (e.currentText() if isinstance(e, QComboBox) else e.text()).strip()
                for k, e in self.editors.items()}

    def set_errors(self, errors: dict[str, str]) -> None:
        for key, f in self.fields.items():
            f.set_error(errors.get(key))
        if any(k in errors for row in MORE for k in row):
            self.more.expand(animate=False)

    def errors(self) -> dict[str, str]:
        return {k: f.message() for k, f in self.fields.items() if f.message()}

    def set_read_only(self, read_only: bool) -> None:
        for e in self.editors.values():
            e.setEnabled(not read_only)

    def _on_change(self, *_: Any) -> None:
        self.changed.emit()
