"""What a user marks a model with, on its page: aliases as chips (add, remove, each one's history), tags, free-text
notes (saved on focus-out or by the button), and what it was made from: the dataset version it trained on and the
sweep it is a trial of. Changes go through the window's actions."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout, QInputDialog, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from desktop_app.errors import NotFoundError

from ..style import esc, muted

CHIP = ("<span style='background:#4e79a7; color:white;'>&nbsp;{name}&nbsp;</span>"
        "<a href='remove:{name}' style='text-decoration:none; color:#d64545;'>&nbsp;✕</a>")


def split_tags(text: str) -> list[str]:
    """'a, b  c' -> ['a', 'b', 'c'] (commas or spaces), duplicates dropped, order kept."""
    parts = [p.strip() for chunk in text.split(",") for p in chunk.split()]
    return list(dict.fromkeys(p for p in parts if p))


class NotesEdit(QPlainTextEdit):
    focus_lost = Signal()

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().focusOutEvent(event)
        self.focus_lost.emit()


class ModelMarks(QGroupBox):
    navigate = Signal(str, str)
    changed = Signal()

    def __init__(self, client: Any, actions: Any, parent: QWidget | None = None):
        super().__init__("Aliases, tags and notes", parent)
        self.client = client
        self.actions = actions
        self.model: Any = None
        self.aliases: list[str] = []
        self._saved_notes = ""

        self.alias_chips = QLabel()
        self.alias_chips.setTextFormat(Qt.TextFormat.RichText)
        self.alias_chips.setWordWrap(True)
        self.alias_chips.linkActivated.connect(self._alias_link)
        self.add_alias_button = QPushButton("Add alias…")
        self.add_alias_button.setToolTip("Name this model 'production', 'staging', 'candidate' …: an alias points at "
                                         "one model of the package; setting it here moves it from another")
        self.add_alias_button.clicked.connect(lambda: self.add_alias())
        self.history_button = QPushButton("History…")
        self.history_button.clicked.connect(lambda: self.show_history())
        arow = QHBoxLayout()
        arow.addWidget(self.alias_chips, 1)
        arow.addWidget(self.add_alias_button, 0, Qt.AlignmentFlag.AlignTop)
        arow.addWidget(self.history_button, 0, Qt.AlignmentFlag.AlignTop)

        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("tags, separated by commas (Enter saves)")
        self.tags_edit.editingFinished.connect(self.save_tags)

        self.notes_edit = NotesEdit()
        self.notes_edit.setPlaceholderText("Notes: what you tried, what to try next (saved when you leave the box)")
        self.notes_edit.setFixedHeight(70)
        self.notes_edit.focus_lost.connect(self.save_notes)
        self.notes_edit.textChanged.connect(self._notes_edited)
        self.save_notes_button = QPushButton("Save notes")
        self.save_notes_button.setEnabled(False)
        self.save_notes_button.clicked.connect(self.save_notes)
        self.status = QLabel()
        muted(self.status)
        nrow = QHBoxLayout()
        nrow.addWidget(self.status, 1)
        nrow.addWidget(self.save_notes_button)
        notes = QVBoxLayout()
        notes.addWidget(self.notes_edit)
        notes.addLayout(nrow)

        self.origin = QLabel()
        self.origin.setTextFormat(Qt.TextFormat.RichText)
        self.origin.setWordWrap(True)
        self.origin.linkActivated.connect(self._origin_link)

        form = QFormLayout(self)
        form.addRow("Aliases", arow)
        form.addRow("Tags", self.tags_edit)
        form.addRow("Notes", notes)
        form.addRow("Made from", self.origin)

    # -- binding --------------------------------------------------------------------------
    def set_model(self, record: Any) -> None:
        """Show a ModelRecord; notes being typed for the same model are kept."""
        same = self.model is not None and record.id == self.model.id
        if same and self._notes_dirty():
            self.save_notes()
        self.model = record
        self.aliases = self._read_aliases()
        self.alias_chips.setText(" ".join(CHIP.format(name=esc(a)) for a in self.aliases) or
                                 "<span style='color:gray'>none</span>")
        self.alias_chips.setToolTip(self._alias_tip())
        self.history_button.setEnabled(bool(self._history_rows()))
        if not self.tags_edit.hasFocus() or not same:
            self.tags_edit.setText(", ".join(record.tags))
        if not same or not self._notes_dirty():
            self.notes_edit.blockSignals(True)
            self.notes_edit.setPlainText(record.notes or "")
            self.notes_edit.blockSignals(False)
            self._saved_notes = record.notes or ""
            self.save_notes_button.setEnabled(False)
            if not same:
                self.status.setText("")
        self.origin.setText(self._origin_html(record))

    def _read_aliases(self) -> list[str]:
        return list(self.client.catalog.model_aliases(self.model.package_id, self.model.id))

    def _history_rows(self) -> list[dict]:
        """Every move of the package's aliases that set this model or took an alias from it, oldest first."""
        if self.model is None:
            return []
        rows = self.client.catalog.alias_history(self.model.package_id)
        return [h for h in rows if self.model.id in (h.get("model_id"), h.get("previous_model_id"))]

    def _alias_tip(self) -> str:
        rows = self._history_rows()
        if not rows:
            return "No alias has pointed at this model"
        return "\n".join(self._history_line(h) for h in rows[-8:])

    def _history_line(self, h: dict) -> str:
        if h.get("model_id") == self.model.id:
            verb = "set here"
        elif h.get("model_id") is None:
            verb = "removed"
        else:
            verb = "moved away"
        who = f" by {h['set_by']}" if h.get("set_by") else ""
        why = f": {h['reason']}" if h.get("reason") else ""
        return f"{(h.get('set_at') or '')[:19].replace('T', ' ')}  {h['alias']} {verb}{who}{why}"

    def _origin_html(self, m: Any) -> str:
        parts = []
        if m.data_version:
            parts.append(f"trained on data version <b>{esc(m.data_version)}</b>")
        if m.sweep_id:
            from desktop_app.catalog.sweeps import queries
            try:
                sweep = queries(self.client.catalog).get(m.sweep_id)
                parts.append(f"a trial of the sweep <a href='sweep:{sweep.id}'>{esc(sweep.name)}</a>")
            except NotFoundError:      # the sweep was deleted meanwhile: say nothing of it
                pass
        return "; ".join(parts) or "<span style='color:gray'>no data version recorded yet (it is set when the " \
                                   "model trains)</span>"

    def data_version_text(self) -> str:
        return self.origin.text()

    # -- aliases --------------------------------------------------------------------------
    def ask_alias(self) -> str | None:
        """Asks the alias's name (tests replace it on the instance)."""
        text, ok = QInputDialog.getText(self, "Add alias", f"Alias for {self.model.name} (e.g. production, "
                                                          f"staging, candidate):")
        return text.strip() if ok and text.strip() else None

    def add_alias(self, name: str | None = None) -> bool:
        if self.model is None:
            return False
        name = name or self.ask_alias()
        if not name:
            return False
        if not self.actions.set_alias(self.model.id, name):
            return False
        self._changed()
        return True

    def remove_alias(self, name: str) -> bool:
        if self.model is None or not self.actions.remove_alias(self.model.id, name):
            return False
        self._changed()
        return True

    def _alias_link(self, href: str) -> None:
        verb, _, name = href.partition(":")
        if verb == "remove":
            self.remove_alias(name)

    def show_history(self) -> QDialog:
        dlg = QDialog(self)
        dlg.setWindowTitle(f"Aliases of {self.model.name if self.model else ''}: history")
        tree = QTreeWidget()
        tree.setHeaderLabels(["When", "Alias", "Model", "Previous", "Who", "Why"])
        tree.setRootIsDecorated(False)
        names = self._model_names()
        for h in self._history_rows():
            tree.addTopLevelItem(QTreeWidgetItem([
                (h.get("set_at") or "")[:19].replace("T", " "), h["alias"], names.get(h.get("model_id"), "—"),
                names.get(h.get("previous_model_id"), "—"), h.get("set_by") or "", h.get("reason") or ""]))
        for c in range(6):
            tree.resizeColumnToContents(c)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dlg.reject)
        lay = QVBoxLayout(dlg)
        lay.addWidget(tree)
        lay.addWidget(buttons)
        dlg.resize(720, 300)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        self.history_dialog = dlg
        return dlg

    def _model_names(self) -> dict[str | None, str]:
        cat = self.client.catalog
        return {m.id: m.name for m in cat.find_models(project_id=self.model.project_id)} if self.model else {}

    # -- tags and notes -------------------------------------------------------------------
    def save_tags(self) -> bool:
        if self.model is None:
            return False
        tags = split_tags(self.tags_edit.text())
        if tags == list(self.model.tags):
            return False
        if not self.actions.save_model_marks(self.model.id, tags=tags):
            return False
        self.status.setText(f"Tags saved: {', '.join(tags) or 'none'}")
        self._changed()
        return True

    def _notes_dirty(self) -> bool:
        return self.notes_edit.toPlainText() != self._saved_notes

    def _notes_edited(self) -> None:
        self.save_notes_button.setEnabled(self._notes_dirty())
        self.status.setText("Notes not saved yet" if self._notes_dirty() else "")

    def save_notes(self) -> bool:
        if self.model is None or not self._notes_dirty():
            return False
        text = self.notes_edit.toPlainText()
        if not self.actions.save_model_marks(self.model.id, notes=text):
            return False
        self._saved_notes = text
        self.save_notes_button.setEnabled(False)
        self.status.setText("Notes saved")
        self._changed()
        return True

    def _changed(self) -> None:
        self.model = self.client.catalog.get_model(self.model.id)
        self.set_model(self.model)
        self.changed.emit()

    def _origin_link(self, href: str) -> None:
        kind, _, ident = href.partition(":")
        self.navigate.emit(kind, ident)
