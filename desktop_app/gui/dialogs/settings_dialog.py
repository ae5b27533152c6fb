"""The Settings dialog, built field by field from the typed schema (desktop_app/settings.py): one editor per
setting, its description under it, and a bad value refused with the message next to the field."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QVBoxLayout, QWidget)

from desktop_app.errors import ValidationError
from desktop_app.settings import SCHEMA, Setting, Settings, coerce

from ..style import CAUTION_STYLE, ERROR_STYLE, esc, muted

TITLES = {
    "catalog_folder": "Catalog folder",
    "default_device": "Default device",
    "parallel_cpu_jobs": "Parallel CPU jobs",
    "thumbnail_cache_mb": "Thumbnail cache (MB)",
    "theme": "Theme",
    "service_port_range": "Service ports",
    "show_tour": "Guided tour",
    "telemetry": "Telemetry",
}
SUGGESTIONS = {"default_device": ("auto", "cpu", "cuda", "cuda:0", "cuda:1")}


def title(setting: Setting) -> str:
    return TITLES.get(setting.key, setting.key.replace("_", " ").capitalize())


def apply_theme(theme: str, app: QApplication | None = None) -> None:
    """'light' / 'dark' set the palette (and the colour-scheme hint, Qt 6.8+); 'system' follows the desktop."""
    app = app or QApplication.instance()
    if app is None:
        return
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme({"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(
            theme, Qt.ColorScheme.Unknown))
    # The hint alone does nothing where the platform has no colour schemes (X11 without a desktop theme).
    if theme == "dark":
        app.setPalette(dark_palette())
    elif theme == "light":
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(QPalette())  # nothing set: the platform's palette again


def dark_palette() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, c in ((role.Window, "#2d2f33"), (role.WindowText, "#e6e6e6"), (role.Base, "#1f2124"),
                 (role.AlternateBase, "#2a2c30"), (role.ToolTipBase, "#2d2f33"), (role.ToolTipText, "#e6e6e6"),
                 (role.Text, "#e6e6e6"), (role.Button, "#35383d"), (role.ButtonText, "#e6e6e6"),
                 (role.BrightText, "#ff6b6b"), (role.Link, "#5aa0f2"), (role.Highlight, "#2f80ed"),
                 (role.HighlightedText, "#ffffff"), (role.PlaceholderText, "#8d939c"), (role.Mid, "#44474d"),
                 (role.Dark, "#18191b"), (role.Light, "#4a4d53"), (role.Midlight, "#3d4045"),
                 (role.Shadow, "#0d0d0e")):
        p.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor("#7a7f87"))
    return p


class FieldEditor(QWidget):
    """One setting's editor: raw() is what the user typed, set_value() shows a stored value."""

    changed = Signal()

    def __init__(self, setting: Setting, parent: QWidget | None = None):
        super().__init__(parent)
        self.setting = setting
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        kind = setting.kind
        self.widgets: list[QWidget] = []
        if setting.read_only:
            self.fixed = QLabel()
            self.fixed.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lay.addWidget(self.fixed, 1)
        elif kind == "bool":
            self.check = QCheckBox(setting.description)
            self.check.toggled.connect(self.changed)
            lay.addWidget(self.check, 1)
        elif kind == "choice":
            self.combo = QComboBox()
            self.combo.addItems(list(setting.choices))
            self.combo.setMinimumWidth(200)
            self.combo.currentTextChanged.connect(self.changed)
            lay.addWidget(self.combo)
            lay.addStretch(1)
        elif kind == "str" and setting.key in SUGGESTIONS:
            self.combo = QComboBox()
            self.combo.setEditable(True)
            self.combo.addItems(list(SUGGESTIONS[setting.key]))
            self.combo.setMinimumWidth(200)
            self.combo.currentTextChanged.connect(self.changed)
            lay.addWidget(self.combo)
            lay.addStretch(1)
        elif kind == "port_range":
            self.first, self.last = QLineEdit(), QLineEdit()
            for e, tip in ((self.first, "first port"), (self.last, "last port")):
                e.setPlaceholderText(tip)
                e.setMaximumWidth(110)
                e.textChanged.connect(self.changed)
            lay.addWidget(self.first)
            lay.addWidget(QLabel("to"))
            lay.addWidget(self.last)
            lay.addStretch(1)
        else:  # int, str, path
            self.line = QLineEdit()
            if kind == "int" and setting.minimum is not None:
                self.line.setPlaceholderText(f"{setting.minimum} to {setting.maximum}")
                self.line.setMaximumWidth(140)
            if kind == "path":
                self.line.setPlaceholderText("default: $DESKTOP_APP_HOME or the user data folder")
            self.line.textChanged.connect(self.changed)
            lay.addWidget(self.line, 1)
            if kind == "path":
                self.browse = QPushButton("Choose…")
                self.browse.clicked.connect(self._browse)
                lay.addWidget(self.browse)
            elif kind == "int":
                lay.addStretch(1)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, f"Choose the {title(self.setting).lower()}",
                                                self.line.text())
        if path:
            self.line.setText(path)

    def raw(self) -> Any:
        s = self.setting
        if s.read_only:
            return s.default
        if s.kind == "bool":
            return self.check.isChecked()
        if hasattr(self, "combo"):
            return self.combo.currentText().strip()
        if s.kind == "port_range":
            return [self.first.text().strip(), self.last.text().strip()]
        text = self.line.text().strip()
        return text

    def set_value(self, value: Any) -> None:
        s = self.setting
        if s.read_only:
            self.fixed.setText(f"<b>{value}</b>")
        elif s.kind == "bool":
            self.check.setChecked(bool(value))
        elif hasattr(self, "combo"):
            self.combo.setCurrentText(str(value))
        elif s.kind == "port_range":
            self.first.setText(str(value[0]))
            self.last.setText(str(value[1]))
        else:
            self.line.setText(str(value))

    def focus_target(self) -> QWidget:
        for name in ("line", "combo", "first", "check"):
            if hasattr(self, name):
                return getattr(self, name)
        return self


class SettingsDialog(QDialog):
    """Edits a Settings object; Save writes only valid values (settings.json, atomically)."""

    saved = Signal(dict)      # key -> new value, only the ones that changed

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.settings = settings
        self.setWindowTitle("Settings")
        self.resize(720, 600)
        self.editors: dict[str, FieldEditor] = {}
        self.errors: dict[str, QLabel] = {}
        outer = QVBoxLayout(self)
        if settings.problems:
            warn = QLabel("Some stored settings were not valid and were reset to their defaults:<br>"
                          + "<br>".join(esc(p) for p in settings.problems))
            warn.setWordWrap(True)
            warn.setStyleSheet(CAUTION_STYLE)
            outer.addWidget(warn)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        grid = QGridLayout(body)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(1, 1)
        row = 0
        for s in SCHEMA:
            label = QLabel(f"<b>{title(s)}</b>")
            editor = FieldEditor(s)
            editor.set_value(settings.get(s.key))
            editor.changed.connect(lambda key=s.key: self.validate(key))
            label.setBuddy(editor.focus_target())
            grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(editor, row, 1)
            error = QLabel()
            error.setObjectName(f"error_{s.key}")
            error.setWordWrap(True)
            error.setStyleSheet(ERROR_STYLE)
            error.hide()
            grid.addWidget(error, row + 1, 1)
            if s.kind != "bool" or s.read_only:
                desc = QLabel(s.description)
                desc.setWordWrap(True)
                muted(desc)
                grid.addWidget(desc, row + 2, 1)
            grid.setRowMinimumHeight(row + 3, 12)
            self.editors[s.key] = editor
            self.errors[s.key] = error
            row += 4
        grid.setRowStretch(row, 1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.where = QLabel(f"Stored in {settings.path}")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        muted(self.where)
        outer.addWidget(self.where)
        self.save_error = QLabel()
        self.save_error.setWordWrap(True)
        self.save_error.setStyleSheet(ERROR_STYLE)
        self.save_error.hide()
        outer.addWidget(self.save_error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
                                        | QDialogButtonBox.StandardButton.RestoreDefaults)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        outer.addWidget(self.buttons)

    @property
    def save_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Save)

    def set_raw(self, key: str, value: Any) -> None:
        """Show a value in a field as if typed (tests, restore defaults)."""
        self.editors[key].set_value(value)
        self.validate(key)

    def validate(self, key: str) -> Any:
        """The field's value as its type; on a bad value the message shows under the field and Save is off."""
        editor, error = self.editors[key], self.errors[key]
        try:
            value = coerce(key, editor.raw())
        except ValidationError as e:
            msg = str(e)
            error.setText(msg.split(": ", 1)[1] if msg.startswith(f"{key}: ") else msg)
            error.show()
            self.save_button.setEnabled(False)
            return _INVALID
        error.hide()
        error.clear()
        self.save_button.setEnabled(not self.invalid_keys())
        return value

    def invalid_keys(self) -> list[str]:
        return [k for k, e in self.errors.items() if not e.isHidden()]

    def values(self) -> dict[str, Any] | None:
        """Every field's typed value, or None when one is invalid (its message is shown)."""
        out = {}
        for key in self.editors:
            v = self.validate(key)
            if v is _INVALID:
                continue
            out[key] = v
        return None if self.invalid_keys() else out

    def save(self) -> bool:
        values = self.values()
        if values is None:
            first = self.invalid_keys()[0]
            self.editors[first].focus_target().setFocus()
            return False
        changed = {}
        try:
            for s in SCHEMA:
                if s.read_only or values[s.key] == self.settings.get(s.key):
                    continue
                changed[s.key] = self.settings.set(s.key, values[s.key])
        except (ValidationError, OSError) as e:
            self.save_error.setText(f"Could not save the settings: {e}")
            self.save_error.show()
            return False
        self.saved.emit(changed)
        self.accept()
        return True

    def restore_defaults(self) -> None:
        for s in SCHEMA:
            self.set_raw(s.key, s.default)


class _Invalid:
    pass


_INVALID = _Invalid()
