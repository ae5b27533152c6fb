"""Clone a model: name, description, dataset, subsets and hyper-parameters; then optionally train it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QVBoxLayout, QWidget)

from desktop_app.sdk import views

from .. import pretrained
from ..style import ERROR_STYLE, esc, muted
from ..widgets.config_form import ConfigForm
from ..workers import TaskRunner


class CloneDialog(QDialog):
    def __init__(self, client: Any, actions: Any, model_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.actions = actions
        self.source = client.catalog.get_model(model_id)
        self.created = None
        self.train_after = False
        src = self.source
        package = client.catalog.get_package(src.package_id)
        self.setWindowTitle(f"Clone {src.name}")
        self.resize(860, 720)

        lay = QVBoxLayout(self)
        intro = QLabel(f"A clone is a new version of <b>{esc(src.name)}</b> ({esc(package.name)} package): "
                       f"it starts from its weights and configuration.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        taken = [m.name for m in client.catalog.find_models(project_id=src.project_id)]
        self.name = QLineEdit(views.unique_name(src.name, taken))
        self.name.selectAll()
        self.description = QLineEdit(src.description if not src.metadata.get("builtin") else "")
        self.description.setPlaceholderText("What changes in this version (optional)")
        self.dataset = QComboBox()
        projects = {p.id: p.name for p in client.catalog.list_projects()}
        offered, left_out = datasets_for(client.catalog, package.output_type, keep=src.dataset_id)
        for d in offered:
            self.dataset.addItem(f"{d.name}  ({projects.get(d.project_id, '')})", d.id)
        if left_out:
            self.dataset.setToolTip(f"Datasets with {package.output_type} annotations (what a {package.name} model "
                                    f"learns from); not offered: {', '.join(d.name for d in left_out)}")
        if src.dataset_id:
            self.dataset.setCurrentIndex(max(self.dataset.findData(src.dataset_id), 0))
        self.train_subset = _subset_combo(views.subset_of(src.train_filter, "train"), src.train_filter)
        self.validation_subset = _subset_combo(views.subset_of(src.validation_filter, "validation"),
                                               src.validation_filter)
        subsets = QHBoxLayout()
        subsets.addWidget(QLabel("train on"))
        subsets.addWidget(self.train_subset)
        subsets.addSpacing(12)
        subsets.addWidget(QLabel("validate on"))
        subsets.addWidget(self.validation_subset)
        subsets.addStretch(1)
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("Dataset", self.dataset)
        form.addRow("Subsets", subsets)
        lay.addLayout(form)

        box = QGroupBox("Hyper-parameters")
        bl = QVBoxLayout(box)
        self.config_form = ConfigForm()
        self.config_form.set_fields(views.form_fields(package.hyperparameters, src.configuration))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.config_form)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        bl.addWidget(scroll)
        lay.addWidget(box, 1)
        # Whether the "pretrained" tick can be honoured here: the weights are never downloaded.
        self.weights_note = QLabel()
        self.weights_note.setWordWrap(True)
        self.weights_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        muted(self.weights_note)
        self.weights_note.hide()
        lay.addWidget(self.weights_note)
        self._tasks = TaskRunner(self)
        self.config_form.changed.connect(self._update_weights_note)
        self._update_weights_note()

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        lay.addWidget(self.error)
        hint = QLabel("Hover a field for its range and default.")
        muted(hint)
        buttons = QDialogButtonBox()
        self.clone_button = QPushButton("Clone")
        self.train_button = QPushButton("Clone and train")
        self.train_button.setDefault(True)
        buttons.addButton(self.clone_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.train_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.clone_button.clicked.connect(lambda: self.clone(train=False))
        self.train_button.clicked.connect(lambda: self.clone(train=True))
        bottom = QHBoxLayout()
        bottom.addWidget(hint, 1)
        bottom.addWidget(buttons)
        lay.addLayout(bottom)

    def clone(self, *, train: bool = False):
        """Create the clone from the fields; on a bad field, say which and stay open."""
        values, errors = self.config_form.values()
        name = self.name.text().strip()
        if not name:
            errors = {"name": "the clone needs a name", **errors}
        if errors:
            self._show_error("Fix the marked fields: " + "; ".join(errors.values()))
            return None
        changed = views.changed_values(self.source.configuration, values)
        # The field starts with the source's description (none for a built-in): it is the clone's, even empty.
        kwargs: dict[str, Any] = {"model_name": name, "description": self.description.text().strip(),
                                  "configuration": changed}
        ds = self.dataset.currentData()
        if ds and ds != self.source.dataset_id:
            kwargs["dataset_id"] = ds
        for combo, key in ((self.train_subset, "train_filter"), (self.validation_subset, "validation_filter")):
            subset = combo.currentData()
            if subset is not None:
                kwargs[key] = {"subset": subset}
        try:
            self.created = self.actions.clone(self.source.id, **kwargs)
        except Exception as e:  # noqa: BLE001 - the user fixes the field and tries again
            from desktop_app.errors import UserError
            self._show_error(str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {e}")
            if not isinstance(e, UserError):
                self.actions.hub.exception("Clone failed", e)
            return None
        self.train_after = train
        self.accept()
        return self.created

    def _update_weights_note(self) -> None:
        arch = pretrained.arch_of(self.config_form.raw_values())
        if arch is not None and self._own_weights and arch == pretrained.arch_of(self.source.configuration):
            # A trained source: the clone starts from its weights, whatever the hub cache holds.
            self.weights_note.setText(f"Training starts from the trained weights of {self.source.name}.")
            self.weights_note.show()
            return
        if arch is None:
            self._show_weights(None)
            return
        pretrained.ask(self._tasks, arch, self._show_weights)

    @property
    def _own_weights(self) -> bool:
        """The source has weights of its own (trained or deployed): a clone starts from them."""
        from desktop_app.domain.status import ModelStatus
        return self.source.status in ModelStatus.WITH_WEIGHTS

    def _show_weights(self, found: pretrained.LocalWeights | None) -> None:
        if found is not None and found.arch != pretrained.arch_of(self.config_form.raw_values()):
            return      # the answer for an architecture no longer chosen
        if found is not None and self._own_weights and found.arch == pretrained.arch_of(self.source.configuration):
            return      # an answer asked for before the architecture came back to the source's own
        tick = self.config_form.editors.get("pretrained")
        if tick is not None:
            base = tick.toolTip().split("\n\n")[0]
            tick.setToolTip(base if found is None else f"{base}\n\n{found.note()}")
        self.weights_note.setText("" if found is None else found.note())
        self.weights_note.setVisible(found is not None and not found.present)

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


def datasets_for(catalog: Any, output_type: str | None, *, keep: str | None = None) -> tuple[list, list]:
    """(offered, left out): the datasets whose ground truth has the package's output type (a classifier learns
    from class tags, a detector from boxes), those without annotations yet, and `keep` (the model's own)."""
    offered, left_out = [], []
    for d in catalog.list_datasets():
        types = {kind for _subset, kind, n in catalog.scoring.ground_truth_item_counts(d.id) if n}
        if not output_type or not types or output_type in types or d.id == keep:
            offered.append(d)
        else:
            left_out.append(d)
    return offered, left_out


def _subset_combo(current: str | None, raw_filter: dict | None) -> QComboBox:
    combo = QComboBox()
    for s in views.SUBSETS:
        combo.addItem(s, s)
    if current is None and raw_filter:
        combo.insertItem(0, f"custom {raw_filter}", None)  # keep a filter the form cannot express
        combo.setCurrentIndex(0)
    elif current is not None:
        combo.setCurrentIndex(combo.findData(current))
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    return combo

