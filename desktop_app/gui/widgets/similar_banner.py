"""The dataset page's banner over a gallery that shows chosen items (find similar, a lasso): what they are, the
model whose vectors ordered them (a choice when several cover the item), Embed with… when none does, and Clear."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from ..style import CAUTION_STYLE


class SimilarBanner(QFrame):
    """A thin binder: the page sets its text and choices; it reports Clear, a model chosen, Embed asked for."""

    clear_requested = Signal()
    model_chosen = Signal(str)       # model id: search again by its vectors
    embed_requested = Signal(str)    # model id: embed the dataset with it, then search

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("similarBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("QFrame#similarBanner { background: palette(alternate-base); "
                           "border: 1px solid palette(highlight); border-radius: 4px; }")
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.models_label = QLabel("by")
        self.models = QComboBox()
        self.models.setToolTip("The model whose embeddings order the items (those whose feature set holds this item)")
        self.models.setMinimumContentsLength(12)
        self.embed_button = QPushButton()
        self.embed_button.setToolTip("Embed the dataset's items with this model (a job), then find similar items")
        self.embedders = QComboBox()
        self.embedders.setToolTip("A model with weights to embed the dataset with")
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Back to the whole gallery, as it was (Esc in the gallery)")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 3, 4, 3)
        lay.setSpacing(8)
        lay.addWidget(self.text, 1)
        for w in (self.models_label, self.models, self.embedders, self.embed_button, self.clear_button):
            lay.addWidget(w)
        self.models.activated.connect(lambda _i: self.model_chosen.emit(self.models.currentData() or ""))
        self.embedders.currentIndexChanged.connect(lambda _i: self._name_embed_button())
        self.embed_button.clicked.connect(lambda: self.embed_requested.emit(self.embedders.currentData() or ""))
        self.clear_button.clicked.connect(self.clear_requested)
        self.hide()

    def show_items(self, text: str, models: Sequence[tuple[str, str]] = (), current: str | None = None) -> None:
        """Items are shown: `text` says what they are; `models` (id, name) the choice of model, offered when there
        are two or more."""
        self._set(text, caution=False)
        self.models.blockSignals(True)
        self.models.clear()
        for mid, name in models:
            self.models.addItem(name, mid)
        self.models.setCurrentIndex(max(0, self.models.findData(current)))
        self.models.blockSignals(False)
        several = self.models.count() > 1
        self.models.setVisible(several)
        self.models_label.setVisible(several)
        self._show_embed([])
        self.clear_button.setVisible(True)
        self.show()

    def show_busy(self, text: str) -> None:
        """Work under way (a search, an embed job): the text only, and Clear (which also drops the answer)."""
        self._set(text, caution=False)
        for w in (self.models, self.models_label):
            w.hide()
        self._show_embed([])
        self.show()

    def show_missing(self, text: str, embedders: Sequence[tuple[str, str]]) -> None:
        """Nothing to search with: say so, and offer Embed with <model>… for each model that could embed."""
        self._set(text, caution=True)
        for w in (self.models, self.models_label):
            w.hide()
        self._show_embed(embedders)
        self.show()

    def _set(self, text: str, *, caution: bool) -> None:
        self.text.setText(text)
        self.text.setToolTip(text)
        self.text.setStyleSheet(CAUTION_STYLE if caution else "")

    def _show_embed(self, embedders: Sequence[tuple[str, str]]) -> None:
        self.embedders.blockSignals(True)
        self.embedders.clear()
        for mid, name in embedders:
            self.embedders.addItem(name, mid)
        self.embedders.setCurrentIndex(0)
        self.embedders.blockSignals(False)
        self.embedders.setVisible(len(embedders) > 1)
        self.embed_button.setVisible(bool(embedders))
        self._name_embed_button()

    def _name_embed_button(self) -> None:
        name = self.embedders.currentText()
        self.embed_button.setText(f"Embed with {name}…" if name else "Embed…")
