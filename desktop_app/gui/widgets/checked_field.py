"""A form field with an error line under it, where the core's message for a refused value is shown."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..style import ERROR_STYLE, muted

_ERROR_BORDER = "border: 1px solid #d64545;"


class CheckedField(QWidget):
    """editor (then extras on the same line), a grey hint, and a red message hidden while the value is fine.

    With `reserve`, the message's line is kept (empty) while the value is fine: a field checked as the user types
    does not push the form down and back up at each key."""

    def __init__(self, editor: QWidget, *extras: QWidget | int, reserve: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = editor
        self.reserve = reserve
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        for extra in extras:
            if isinstance(extra, int):
                row.addStretch(extra)        # an int is a stretch: the editor keeps its width
            else:
                row.addWidget(extra)
        v.addLayout(row)
        self.hint = QLabel()                 # what the value means, in grey; empty: hidden
        self.hint.setWordWrap(True)
        muted(self.hint)
        self.hint.hide()
        v.addWidget(self.hint)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        if reserve:
            self.error.setText(" ")          # one line of the message's own style, kept while the value is fine
            # The red border's style sheet gives the editor another (smaller) size hint: keep its height.
            editor.setMinimumHeight(editor.sizeHint().height())
        else:
            self.error.hide()
        v.addWidget(self.error)

    def set_error(self, message: str | None) -> None:
        self.error.setText(message or (" " if self.reserve else ""))
        self.error.setVisible(bool(message) or self.reserve)
        self.editor.setStyleSheet(_ERROR_BORDER if message else "")
        self.editor.setToolTip(message or self.editor.property("tip") or "")

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def message(self) -> str:
        return self.error.text().strip() if self.error.isVisibleTo(self) else ""   # empty while fine
