"""The label-next queue: the items a model is least sure of, in rank order, labelled in the review viewer.

Each item shows its uncertainty score and the model's predictions as proposals; a person accepts a proposal,
draws a box, gives or changes the class, or skips. The first edit on an item (or Done) marks it labelled: reviewed,
by whom and when (review_commands.MarkLabelled), one undo step with the edit, and the item then counts once as a
new label for the pipelines' "annotations" trigger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QSplitter, QVBoxLayout, QWidget)

from ..review_commands import MarkLabelled, review_mark
from ..style import muted, title_font
from .review_page import ReviewPanel


@dataclass
class LabelQueueSpec:
    """What the Label next dialog ranked: the items in rank order with their scores, and how they were ranked."""
    dataset_id: str
    model_id: str
    items: list[int]
    scores: list[float]
    strategy: str
    diversity: float = 0.0
    unlabeled_only: bool = True
    note: str = ""
    unscored: list[int] = field(default_factory=list)


class LabelQueuePage(QWidget):
    """The queue on the left (rank, score, ✓ once labelled), the review viewer on the right, progress above."""

    message = Signal(str)
    navigate = Signal(str, str)
    progressed = Signal(int, int)          # labelled, total

    def __init__(self, client: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.spec: LabelQueueSpec | None = None
        self.opened_at = ""
        self.title = QLabel("Label next")
        self.title.setFont(title_font(self.font(), 1.3))
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        muted(self.subtitle)
        self.progress = QLabel()
        self.progress.setObjectName("labelQueueProgress")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.score = QLabel()
        self.score.setObjectName("labelQueueScore")
        self.skip_button = QPushButton("Skip ▶")
        self.skip_button.setToolTip("Leave this item unlabelled and go to the next (S)")
        self.done_button = QPushButton("Done ✓")
        self.done_button.setToolTip("This item is labelled as it is now (no object, or the label it has): mark it "
                                    "reviewed and go to the next (Enter)")
        self.list = QListWidget()
        self.list.setMinimumWidth(200)
        self.list.currentRowChanged.connect(self._on_row)
        self.panel = ReviewPanel(client, panes=1)
        self.panel.close_button.hide()
        self.panel.on_edit = self._mark_for
        self.panel.item_shown.connect(self._follow_panel)
        self.panel.changed.connect(lambda _i: self.refresh_progress())

        top = QHBoxLayout()
        top.addWidget(self.progress)
        top.addWidget(self.bar, 1)
        top.addSpacing(12)
        top.addWidget(self.score)
        top.addSpacing(12)
        top.addWidget(self.skip_button)
        top.addWidget(self.done_button)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.list, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.panel)
        split.setStretchFactor(1, 1)
        split.setSizes([240, 1000])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.subtitle)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.skip_button.clicked.connect(self.skip)
        self.done_button.clicked.connect(self.done)
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("S"), self, self.skip, ctx)
        for k in ("Return", "Enter"):
            QShortcut(QKeySequence(k), self, self.done, ctx)

    # -- binding ----------------------------------------------------------------------------
    def set_queue(self, spec: LabelQueueSpec) -> None:
        from desktop_app.catalog.stamps import now_iso
        self.spec = spec
        self.opened_at = now_iso()
        ds = self.catalog.get_dataset(spec.dataset_id)
        model = self.catalog.get_model(spec.model_id)
        self.title.setText(f"Label next: {ds.name}, by {model.name}'s uncertainty")
        how = [f"strategy {spec.strategy.replace('_', ' ')}", f"diversity {spec.diversity:g}",
               "unlabelled items only" if spec.unlabeled_only else "all items"]
        if spec.unscored:
            how.append(f"{len(spec.unscored):,} item(s) not ranked (no prediction)")
        self.subtitle.setText(" · ".join(how) + (f". {spec.note}" if spec.note else ""))
        self.panel.set_sessions([])
        self.panel.enable_labelling(spec.model_id, list(ds.labels), boxes=model.output_type != "class")
        self.list.blockSignals(True)
        self.list.clear()
        names = {r.id: r.name for r in self.catalog.list_items(spec.dataset_id, item_ids=spec.items)}
        for rank, (i, s) in enumerate(zip(spec.items, spec.scores), 1):
            it = QListWidgetItem(f"{rank:>3}. {s:.3f}  {names.get(i, i).rsplit('/', 1)[-1]}")
            it.setData(Qt.ItemDataRole.UserRole, i)
            self.list.addItem(it)
        self.list.blockSignals(False)
        self.panel.set_items(spec.items)
        if spec.items:
            self.list.setCurrentRow(0)
        self.refresh_progress()

    # -- labelled ---------------------------------------------------------------------------
    def is_labelled(self, item_id: int) -> bool:
        """Labelled in this queue (marked since it opened)."""
        mark = review_mark(self.catalog.get_item(item_id))
        return mark is not None and mark["at"] >= self.opened_at

    def labelled_items(self) -> list[int]:
        if self.spec is None:
            return []
        records = self.catalog.list_items(self.spec.dataset_id, item_ids=self.spec.items)
        marked = {r.id for r in records if (m := review_mark(r)) is not None and m["at"] >= self.opened_at}
        return [i for i in self.spec.items if i in marked]

    def _mark_for(self, item_id: int) -> MarkLabelled | None:
        if self.spec is None or item_id not in self.spec.items or self.is_labelled(item_id):
            return None
        return MarkLabelled(self.catalog, item_id, who=self.panel.who, model_id=self.spec.model_id,
                            on_change=self.panel._done)

    def refresh_progress(self) -> None:
        total = len(self.spec.items) if self.spec else 0
        done = set(self.labelled_items())
        self.progress.setText(f"{len(done):,} of {total:,} labelled")
        self.bar.setMaximum(max(1, total))
        self.bar.setValue(len(done))
        for row in range(self.list.count()):
            it = self.list.item(row)
            text = it.text().removesuffix("  ✓")
            it.setText(text + ("  ✓" if it.data(Qt.ItemDataRole.UserRole) in done else ""))
        self._update_score()
        self.progressed.emit(len(done), total)

    def _update_score(self) -> None:
        pos = self.panel.pos
        if self.spec is None or not 0 <= pos < len(self.spec.items):
            self.score.setText("")
            return
        self.score.setText(f"#{pos + 1} · {self.spec.strategy.replace('_', ' ')} score "
                           f"{self.spec.scores[pos]:.3f}")

    # -- stepping ---------------------------------------------------------------------------
    def skip(self) -> None:
        """Next item, this one left as it is (not marked)."""
        self.panel.next()

    def done(self) -> None:
        """Mark the current item labelled as it is now (one undo step) and go to the next."""
        item_id = self.panel.current_item_id
        if item_id is None:
            return
        cmd = self._mark_for(item_id)
        if cmd is not None:
            self.panel.undo_stack.push(cmd)
        self.panel.next()

    def _on_row(self, row: int) -> None:
        if row >= 0 and row != self.panel.pos:
            self.panel.show_index(row)

    def _follow_panel(self, _item_id: int) -> None:
        if self.list.currentRow() != self.panel.pos:
            self.list.blockSignals(True)
            self.list.setCurrentRow(self.panel.pos)
            self.list.blockSignals(False)
        self._update_score()

    def refresh(self) -> None:
        """View ▸ Refresh: the item on screen and the progress read again (another window may have labelled)."""
        self.panel.reload()
        self.refresh_progress()

    def shutdown(self) -> None:
        self.panel.shutdown()
