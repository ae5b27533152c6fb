"""New pipeline: champion, dataset subsets, trigger, overrides and gate, each refused with the core's message.

The fields are read and checked with desktop_app.pipelines.draft (form logic, no writes); the pipeline is made
through the window's actions."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGridLayout, QGroupBox,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from desktop_app.pipelines import draft as drafts
from desktop_app.pipelines.definition import SUBSET_ROLES

from ..actions import Actions
from ..style import ERROR_STYLE
from ..widgets.checked_field import CheckedField
from ..widgets.gate_editor import GateEditor
from ..workers import TaskRunner

TRIGGERS = (("manual", "Manual: Run now, a script or the CLI"),
            ("annotations", "After N reviewed annotation changes"),
            ("schedule", "On a schedule"))


ANNOTATIONS_HINT = ("Each ground-truth annotation added, changed or deleted counts one; an item labelled in the "
                    "Label next queue counts once, however many annotations it got")

TYPED_FIELDS = ("name", "overrides", "alias", "trigger")


class PipelineDialog(QDialog):
    created = Signal(object)                  # the new pipeline (an SDK Pipeline)

    def __init__(self, client: Any, project_id: str, parent: QWidget | None = None, *, actions: Any = None):
        from superqt import QCollapsible
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.actions = actions if actions is not None else Actions.for_page(client, None, self, TaskRunner(self))
        self.pipeline: Any = None
        self.draft = drafts.defaults(self.catalog, project_id)
        self._loading = False
        self.setWindowTitle("New pipeline")

        lay = QVBoxLayout(self)
        intro = QLabel("A pipeline retrains the champion when its trigger fires, tests the challenger and the "
                       "champion on the same frozen test items, and promotes the challenger only if it passes "
                       "the gate.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, CheckedField] = {}
        self.name = QLineEdit()
        self.description = QLineEdit()
        self.description.setPlaceholderText("What this pipeline is for (optional)")
        self.champion = QComboBox()
        for m in drafts.champions(self.catalog, project_id):
            self.champion.addItem(f"{m.name}  ({self.catalog.get_package(m.package_id).name}, {m.status})", m.id)
        self.dataset = QComboBox()
        for d in self.catalog.list_datasets(project_id):
            self.dataset.addItem(d.name, d.id)
        form.addRow("Name", self._field("name", self.name))
        form.addRow("Description", self.description)
        form.addRow("Champion", self._field("champion", self.champion))
        form.addRow("Dataset", self._field("dataset", self.dataset))
        form.addRow("Subsets", self._field("subsets", self._subsets()))
        form.addRow("Trigger", self._trigger_field())
        self.overrides = QLineEdit()
        self.overrides.setPlaceholderText('challenger overrides, JSON: {"epochs": 5}; blank: as the champion')
        form.addRow("Overrides", self._field("overrides", self.overrides))
        lay.addLayout(form)

        box = QGroupBox("Promotion gate")
        bl = QVBoxLayout(box)
        self.gate = GateEditor()
        self.gate.changed.connect(self._on_change)
        bl.addWidget(self.gate)
        lay.addWidget(box)

        self.advanced = QCollapsible("Advanced: alias, seed, services", expandedIcon="▾", collapsedIcon="▸")
        self.advanced.setDuration(0)
        adv = QWidget()
        af = QFormLayout(adv)
        self.alias = QLineEdit()
        self.alias.setToolTip("The package alias the pipeline moves to each promoted challenger")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Seeds the sample of at most N items per subset")
        self.seed.setMaximumWidth(160)
        self.redeploy = QCheckBox("Move running services of the champion to a promoted challenger")
        af.addRow("Alias", self._field("alias", self.alias))
        af.addRow("Seed", self.seed)
        af.addRow("Services", self.redeploy)
        self.advanced.addWidget(adv)
        lay.addWidget(self.advanced)

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.create_button = QPushButton("Create pipeline")
        self.create_button.setDefault(True)
        buttons.addButton(self.create_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.create_button.clicked.connect(self.create)
        lay.addWidget(buttons)

        for w in (self.name, self.description, self.overrides, self.alias, self.every):
            w.textChanged.connect(self._on_change)
        for w in (self.trigger, *self.subset_combos.values()):
            w.currentIndexChanged.connect(self._on_change)
        for w in (self.count, self.seed, *self.max_items.values()):
            w.valueChanged.connect(self._on_change)
        for w in (self.enabled, self.redeploy):
            w.toggled.connect(self._on_change)
        self.champion.currentIndexChanged.connect(self._on_champion)
        self.dataset.currentIndexChanged.connect(self._on_dataset)
        self._load(self.draft)
        self.resize(780, self.sizeHint().height())   # "More" and "Advanced" grow it when opened

    # -- layout ------------------------------------------------------------------------------------
    def _field(self, key: str, editor: QWidget, *extras: QWidget | int) -> CheckedField:
        # Fields checked while typed keep their message's line: the form does not jump at each key.
        self.fields[key] = CheckedField(editor, *extras, reserve=key in TYPED_FIELDS)
        return self.fields[key]

    def _subsets(self) -> QWidget:
        w = QWidget()
        grid = QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        self.subset_combos: dict[str, QComboBox] = {}
        self.max_items: dict[str, QSpinBox] = {}
        for r, role in enumerate(SUBSET_ROLES):
            combo = QComboBox()
            spin = QSpinBox()
            spin.setRange(0, 10_000_000)
            spin.setSpecialValueText("all")
            spin.setSuffix(" items")
            spin.setToolTip("A seeded sample of at most this many items (0: all), frozen at each run")
            grid.addWidget(QLabel(f"{role} on"), r, 0)
            grid.addWidget(combo, r, 1)
            grid.addWidget(QLabel("at most"), r, 2)
            grid.addWidget(spin, r, 3)
            self.subset_combos[role], self.max_items[role] = combo, spin
        grid.setColumnStretch(4, 1)
        return w

    def _trigger_field(self) -> CheckedField:
        self.trigger = QComboBox()
        for key, text in TRIGGERS:
            self.trigger.addItem(text, key)
        self.trigger.setItemData(self.trigger.findData("annotations"), ANNOTATIONS_HINT, Qt.ItemDataRole.ToolTipRole)
        self.count = QSpinBox()
        self.count.setRange(0, 10_000_000)
        self.count.setSuffix(" changes")
        self.every = QLineEdit()
        self.every.setPlaceholderText("6h, 1d, 30m or seconds")
        self.every.setMaximumWidth(160)
        self.enabled = QCheckBox("enabled")
        self.enabled.setToolTip("Automatic triggers fire only while the pipeline is enabled")
        return self._field("trigger", self.trigger, self.count, self.every, self.enabled)

    # -- binding -----------------------------------------------------------------------------------
    def _load(self, d: drafts.Draft) -> None:
        """Widgets from the draft (no change signals while it sets them)."""
        self._loading = True
        try:
            self.name.setText(d.name)
            self.description.setText(d.description)
            self.champion.setCurrentIndex(max(self.champion.findData(d.champion_id), 0))
            self.dataset.setCurrentIndex(max(self.dataset.findData(d.dataset_id), 0))
            self._fill_subsets(d, self.dataset.currentData())
            self.trigger.setCurrentIndex(max(self.trigger.findData(d.trigger), 0))
            self.count.setValue(d.count)
            self.every.setText(d.every)
            self.enabled.setChecked(d.enabled)
            self.overrides.setText(d.overrides)
            if d.champion_id:
                self.gate.set_kind(drafts.gate_kind(self.catalog.get_model(d.champion_id).output_type))
            self.gate.set_texts(d.gate)
            self.alias.setText(d.alias)
            self.seed.setValue(d.seed)
            self.redeploy.setChecked(d.redeploy)
        finally:
            self._loading = False
        self._on_change()

    def _fill_subsets(self, d: drafts.Draft, dataset_id: str | None) -> None:
        # The dataset the combo shows (the first one while no trained champion chose it), not only the draft's.
        counts = drafts.subset_counts(self.catalog, dataset_id) if dataset_id else {}
        for role, combo in self.subset_combos.items():
            combo.blockSignals(True)
            combo.clear()
            for s in SUBSET_ROLES:
                combo.addItem(f"{s}  ({counts.get(s, 0)} items)", s)
            combo.setCurrentIndex(max(combo.findData(d.subsets.get(role, role)), 0))
            combo.blockSignals(False)
            self.max_items[role].setValue(d.max_items.get(role, 0))

    def read(self) -> drafts.Draft:
        """The draft the fields say."""
        return drafts.Draft(
            project_id=self.draft.project_id, name=self.name.text().strip(), champion_id=self.champion.currentData(),
            dataset_id=self.dataset.currentData(),
            subsets={r: c.currentData() for r, c in self.subset_combos.items()},
            max_items={r: s.value() for r, s in self.max_items.items() if s.value()},
            trigger=self.trigger.currentData(), count=self.count.value(), every=self.every.text().strip(),
            enabled=self.enabled.isChecked(), overrides=self.overrides.text(), gate=self.gate.texts(),
            alias=self.alias.text().strip(), seed=self.seed.value(), redeploy=self.redeploy.isChecked(),
            description=self.description.text())

    def _on_champion(self, *_: Any) -> None:
        if not self._loading and self.champion.currentData():
            d = self.read()
            d.champion_id = self.draft.champion_id   # with_champion compares against the one it replaces
            self._load(drafts.with_champion(self.catalog, d, self.champion.currentData()))

    def _on_dataset(self, *_: Any) -> None:
        if not self._loading:
            self._load(self.read())           # the subset choices show the new dataset's counts

    def _on_change(self, *_: Any) -> None:
        """Re-check the fields as they are typed (cheap checks; the items are counted on Create)."""
        if self._loading:
            return
        self.draft = self.read()
        kind = self.draft.trigger
        self.count.setVisible(kind == "annotations")
        self.every.setVisible(kind == "schedule")
        self.enabled.setVisible(kind != "manual")
        self.fields["champion"].set_hint(drafts.alias_note(self.catalog, self.draft))
        cfg = drafts.configuration_text(self.catalog, self.draft.champion_id)
        self.fields["overrides"].set_hint(f"champion's configuration: {cfg}" if cfg else "")
        errors = drafts.check(self.catalog, self.draft)
        self._show(errors)
        self.create_button.setEnabled(not errors and not self.catalog.read_only)

    def _show(self, errors: dict[str, str]) -> None:
        for key, f in self.fields.items():
            f.set_error(errors.get(key))
        self.gate.set_errors(errors)
        if "alias" in errors:
            self.advanced.expand(animate=False)
        self.error.setVisible(False)
        self._fit()

    def _fit(self) -> None:
        """Grow to fit messages that appeared: a squeezed layout would crush the spin boxes instead."""
        self.layout().activate()
        height = self.sizeHint().height()
        if height > self.height():
            self.resize(self.width(), height)

    def errors(self) -> dict[str, str]:
        """The messages on screen, by field."""
        out = {k: f.message() for k, f in self.fields.items() if f.message()}
        return {**out, **self.gate.errors()}

    # -- creating ----------------------------------------------------------------------------------
    def create(self) -> Any:
        """Create the pipeline from the fields; on a refused field, show why under it and stay open."""
        from desktop_app.errors import UserError
        self.draft = self.read()
        try:
            self.pipeline = self.actions.create_pipeline(self.draft)
        except drafts.DraftError as e:
            self._show(e.errors)
            self.create_button.setEnabled(False)
            return None
        except UserError as e:      # a check the fields do not name
            self.error.setText(str(e))
            self.error.show()
            self._fit()
            return None
        self.created.emit(self.pipeline)
        self.accept()
        return self.pipeline

