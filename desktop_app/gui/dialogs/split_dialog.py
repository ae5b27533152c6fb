"""Split a dataset into train / validation / test by percentages and a seed, with the counts shown first."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox,
                               QVBoxLayout, QWidget)

from desktop_app.catalog import Catalog
from desktop_app.errors import UserError
from desktop_app.formats.base import SUBSETS

from ..style import ERROR_STYLE
from ..workers import TaskRunner

log = logging.getLogger(__name__)

DEFAULT_PERCENTAGES = {"train": 70, "validation": 15, "test": 15}


def split_percentages(values: Mapping[str, int]) -> dict[str, int]:
    """The subsets that get items (a 0 % subset is left out, as the catalog expects)."""
    return {s: int(values.get(s, 0)) for s in SUBSETS if int(values.get(s, 0)) > 0}


def preview_split(n: int, percentages: Mapping[str, float]) -> dict[str, int]:
    """Items per subset exactly as Catalog.split_subsets will assign them (last subset takes the rest)."""
    names = [s for s in SUBSETS if s in percentages]
    total = sum(percentages[s] for s in names)
    scale = 1.0 if abs(total - 1) <= 1e-6 else 100.0
    out, start = {}, 0
    for k, s in enumerate(names):
        c = n - start if k == len(names) - 1 else round(n * percentages[s] / scale)
        out[s] = c
        start += c
    return out


def split_problem(percentages: Mapping[str, int]) -> str | None:
    if not percentages:
        return "give at least one subset a share"
    total = sum(percentages.values())
    if total != 100:
        return f"the shares add up to {total} %, not 100 %"
    return None


def _pair(a: QWidget, b: QWidget) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(a)
    lay.addWidget(b, 1)
    return w


class SplitDialog(QDialog):
    split_done = Signal(dict)            # subset -> items assigned

    def __init__(self, catalog: Catalog, dataset_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Split into subsets")
        self.catalog, self.dataset_id = catalog, dataset_id
        self.tasks = TaskRunner(self)
        self.running = False                 # a split is running (on self.tasks)
        self.n_all = catalog.count_items(dataset_id)
        self.n_missing = catalog.count_items(dataset_id, subset="none")

        form = QFormLayout()
        self.spins: dict[str, QSpinBox] = {}
        self.previews: dict[str, QLabel] = {}
        for s in SUBSETS:
            spin = QSpinBox()
            spin.setRange(0, 100)
            spin.setSuffix(" %")
            spin.setValue(DEFAULT_PERCENTAGES[s])
            spin.valueChanged.connect(self._update)
            self.spins[s] = spin
            self.previews[s] = QLabel()
            form.addRow(s.capitalize(), _pair(spin, self.previews[s]))
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_147_483_647)
        form.addRow("Seed", self.seed)
        self.only_missing = QCheckBox(f"Only items without a subset ({self.n_missing:,})")
        self.only_missing.toggled.connect(self._update)
        form.addRow("", self.only_missing)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Split")
        self.buttons.accepted.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.seed.valueChanged.connect(self._update)
        self._update()

    # -- model of the form --------------------------------------------------------------
    def percentages(self) -> dict[str, int]:
        return split_percentages({s: spin.value() for s, spin in self.spins.items()})

    def set_percentages(self, values: Mapping[str, int]) -> None:
        for s, spin in self.spins.items():
            spin.setValue(int(values.get(s, 0)))

    def item_count(self) -> int:
        return self.n_missing if self.only_missing.isChecked() else self.n_all

    def preview(self) -> dict[str, int]:
        return preview_split(self.item_count(), self.percentages())

    # -- actions ------------------------------------------------------------------------
    def apply(self) -> None:
        problem = split_problem(self.percentages())
        if problem or self.running:
            return
        self.ok_button.setEnabled(False)
        self.message.setText(f"Assigning {self.item_count():,} items…")
        self.running = True
        catalog, dataset_id, pct = self.catalog, self.dataset_id, self.percentages()
        seed, only_missing = self.seed.value(), self.only_missing.isChecked()
        self.tasks.submit(lambda: catalog.split_subsets(dataset_id, pct, seed=seed, only_missing=only_missing),
                          self._on_done, self._on_error)

    def _on_done(self, counts: dict) -> None:
        self.running = False
        self.split_done.emit(counts)
        self.accept()

    def _on_error(self, error: BaseException) -> None:
        if isinstance(error, UserError):
            log.warning("split of dataset %s failed: %s", self.dataset_id, error)
            self._on_failed(str(error))
        else:
            log.error("split failed", exc_info=error)
            self._on_failed(f"unexpected error ({type(error).__name__}): {error}")

    def _on_failed(self, message: str) -> None:
        self.running = False
        self._update()                   # the button back on; then the failure, which _update's preview overwrote
        self.message.setText(message)
        self.message.setStyleSheet(ERROR_STYLE)

    def wait_done(self, timeout_ms: int = 60_000) -> None:
        self.tasks.wait(timeout_ms)

    def reject(self) -> None:
        if self.running:                 # a split is one transaction: let it finish, it takes a moment
            return
        super().reject()

    def _update(self) -> None:
        pct = self.percentages()
        problem = split_problem(pct)
        counts = preview_split(self.item_count(), pct) if not problem else {}
        for s, label in self.previews.items():
            label.setText(f"{counts.get(s, 0):,} items" if not problem else "")
        self.ok_button.setEnabled(problem is None and not self.running)
        if problem:
            self.message.setText(problem)
            self.message.setStyleSheet(ERROR_STYLE)
        else:
            self.message.setStyleSheet("")
            self.message.setText(f"{self.item_count():,} items will be shuffled with seed {self.seed.value()}.")
