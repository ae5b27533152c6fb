"""Evaluate a model: dataset, subset, name and thresholds; OK queues the job (the checks are sdk.evaluate_form's).
What is measured follows the model's output: boxes, instance masks (COCO segm), pixels (semantic) or classes."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from desktop_app.sdk import evaluate_form as form

from ..style import CAUTION_STYLE, ERROR_STYLE, esc
from ..widgets.checked_field import CheckedField

IOU_HINT = ("A prediction matches a ground-truth box at this overlap or more: TP / FP / FN, precision, recall "
            "and the confusion matrix. mAP is COCO's, over IoU 0.50 to 0.95.")
MASK_IOU_HINT = ("A predicted mask matches a ground-truth mask or polygon whose pixels overlap it at this mask IoU "
                 "or more: TP / FP / FN, precision, recall and the confusion matrix. Mask AP is COCO's segm, "
                 "over mask IoU 0.50 to 0.95.")
SEMANTIC_IOU_HINT = ("An image's class scoring below this IoU counts as a mistake when you review the images "
                     "(worst first) and compare two models (regressions); mIoU, the accuracies and the confusion "
                     "matrix count every pixel whatever it is.")
# What each kind of model is scored on, over the chosen items (the model's output_type).
MEASURES = {
    "box": "<b>Measures</b> boxes: COCO mAP, AP50, AP75 and AR over IoU 0.50–0.95, per class, with precision-recall "
           "curves; TP / FP / FN and a confusion matrix at the thresholds below (both move live afterwards).",
    "binary": "<b>Measures</b> instance masks (COCO segm): mask mAP, AP50, AP75 by mask IoU, per class, with "
              "precision-recall curves; each predicted mask is a TP or FP and each missed one an FN at the "
              "thresholds below (they move live afterwards). Ground truth: the items' masks and polygons.",
    "semantic": "<b>Measures</b> pixels: each pixel's predicted class against the ground truth's (the items' masks "
                "and polygons painted in order, background elsewhere, an ignore mask left out): mIoU, per-class "
                "IoU, pixel accuracy, mean class accuracy and a confusion matrix over pixels.",
    "class": "<b>Measures</b> class labels: accuracy, macro and weighted precision / recall / F1, per class, with "
             "precision-recall curves and a confusion matrix (the threshold moves live afterwards).",
}
CONF_HINTS = {True: "Predictions scored below this are left out of TP / FP / FN and the confusion matrix "
                    "(0 keeps them all); mAP always uses every prediction.",
              False: "Where the evaluation page's confidence slider starts; accuracy uses every prediction."}


class EvaluateDialog(QDialog):
    def __init__(self, client: Any, actions: Any, model_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.actions = actions
        self.model = client.catalog.get_model(model_id)
        self.detection = form.is_detection(self.model)
        self.choices = form.dataset_choices(client.catalog, self.model)
        self.execution = None                    # the queued job, once OK went through
        self._name_edited = False
        self.setWindowTitle(f"Evaluate {self.model.name}")
        self.setMinimumWidth(560)

        lay = QVBoxLayout(self)
        intro = QLabel(f"<b>{esc(self.model.name)}</b> predicts over the items, then its predictions are scored "
                       f"against the ground truth. The job runs in the background; the result appears under "
                       f"Evaluations on the model's page.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        kind = self.model.output_type if self.model.output_type in MEASURES else "box"
        self.measures = QLabel(MEASURES[kind])
        self.measures.setWordWrap(True)
        lay.addWidget(self.measures)
        lay.addSpacing(8)
        self.grid = QFormLayout()
        self.grid.setHorizontalSpacing(12)
        self.fields: dict[str, CheckedField] = {}
        self.errors: dict[str, QLabel] = {}      # each field's error line
        self.dataset = QComboBox()
        for c in self.choices:
            self.dataset.addItem(c.label + ("  · trained on" if c.id == self.model.dataset_id else ""), c.id)
        self.subset = QComboBox()
        self.name = QLineEdit()
        self.name.textEdited.connect(self._name_typed)
        self.iou = QLineEdit("0.5")
        self.conf = QLineEdit("0.0")
        for e in (self.iou, self.conf):
            e.setMaximumWidth(120)
            e.setPlaceholderText("0 to 1")
        self._add("dataset", "Dataset", self.dataset)
        self._add("subset", "Subset", self.subset)
        self._add("name", "Name", self.name)
        if kind == "semantic":         # a class per pixel: no instance to keep or drop by confidence
            self._add("iou", "IoU threshold", self.iou, SEMANTIC_IOU_HINT)
        elif self.detection:
            self._add("iou", "Mask IoU threshold" if kind == "binary" else "IoU threshold", self.iou,
                      MASK_IOU_HINT if kind == "binary" else IOU_HINT)
        if kind != "semantic":
            self._add("conf", "Confidence", self.conf, CONF_HINTS[self.detection])
        else:
            self.conf.setParent(self)
            self.conf.hide()
        lay.addLayout(self.grid)
        self.problem = QLabel()                  # why the model itself cannot be evaluated
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.hide()
        lay.addWidget(self.problem)
        lay.addStretch(1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = QPushButton("Evaluate")
        self.buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAutoDefault(False)
        self.ok_button.clicked.connect(self.evaluate)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

        self.dataset.currentIndexChanged.connect(self._dataset_changed)
        self.subset.currentIndexChanged.connect(self._subset_changed)
        for e in (self.name, self.iou, self.conf):
            e.textChanged.connect(self.validate)
        self._dataset_changed()

    def _add(self, key: str, title: str, editor: QWidget, hint: str = "") -> CheckedField:
        narrow = editor.maximumWidth() < 10_000          # a number box keeps its width: a stretch beside it
        field = CheckedField(editor, *((1,) if narrow else ()))
        field.set_hint(hint)
        self.grid.addRow(title, field)
        self.fields[key] = field
        self.errors[key] = field.error
        return field

    # -- binding --------------------------------------------------------------------------
    @property
    def choice(self) -> form.DatasetChoice | None:
        k = self.dataset.currentIndex()
        return self.choices[k] if 0 <= k < len(self.choices) else None

    def _dataset_changed(self) -> None:
        """Subsets with their sizes; keep the chosen subset, else the first that has items."""
        keep = self.subset.currentData()
        counts = self.choice.counts if self.choice else {}
        self.subset.blockSignals(True)
        self.subset.clear()
        for s in form.SUBSETS:
            self.subset.addItem(f"{s}  ({counts.get(s, 0)} items)", s)
        first = next((s for s in form.SUBSETS if counts.get(s)), "test")
        self.subset.setCurrentIndex(self.subset.findData(keep if counts.get(keep) else first))
        self.subset.blockSignals(False)
        self._subset_changed()

    def _subset_changed(self) -> None:
        if not self._name_edited and self.choice is not None:
            self.name.setText(form.default_name(self.choice.name, self.subset.currentData()))
        self.validate()

    def _name_typed(self) -> None:
        self._name_edited = bool(self.name.text().strip())   # cleared: follow the dataset / subset again

    def validate(self) -> form.EvaluateRequest | None:
        request, errors = form.check(self.client.catalog, self.model, self.choice, self.subset.currentData() or "",
                                     self.name.text(), self.iou.text(), self.conf.text())
        for key, field in self.fields.items():
            field.set_error(errors.get(key))
        replaces = form.replaces(self.client.catalog, self.model.id, self.name.text())
        self.fields["name"].set_hint("An evaluation of this name exists: this one replaces it." if replaces
                                     else "The evaluation's key: model.evaluations.get(name) in a script.")
        self.fields["name"].hint.setStyleSheet(CAUTION_STYLE if replaces else "")
        self.problem.setText(errors.get("model", ""))
        self.problem.setVisible("model" in errors)
        self.ok_button.setEnabled(request is not None)
        self._fit()
        return request

    def _fit(self) -> None:
        """Errors appear under the fields: grow rather than squeeze the rows (word-wrapped labels)."""
        lay = self.layout()
        need = lay.totalHeightForWidth(self.width()) if lay.hasHeightForWidth() else lay.totalSizeHint().height()
        if need > self.height():
            self.resize(self.width(), need)

    def evaluate(self) -> Any:
        """Queue the job; a failure the checks could not foresee goes to the ErrorHub and the dialog stays."""
        request = self.validate()
        if request is None:
            return None
        self.execution = self.actions.evaluate(request)
        if self.execution is not None:
            self.accept()
        return self.execution
