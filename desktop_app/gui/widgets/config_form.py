"""An editable form built from a package's declared hyper-parameters; advanced ones collapsed.

The form only binds: values are coerced and checked by `desktop_app.sdk.views.coerce_form` (the same
`hparams.coerce` the CLI's --set uses), and a field that does not pass is marked with the message.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QLabel, QLineEdit, QSizePolicy, QSpinBox,
                               QVBoxLayout, QWidget)

from ..style import muted

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_ERROR_STYLE = "border: 1px solid #d64545;"


class ConfigForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.fields: list[dict] = []
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, str] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._body: QWidget | None = None
        self.advanced = None
        self._read_only = False

    # -- building -------------------------------------------------------------------------
    def set_fields(self, fields: list[dict]) -> None:
        from superqt import QCollapsible
        if self._body is not None:
            self._layout.removeWidget(self._body)
            self._body.hide()  # deleteLater waits for the event loop; it must not show meanwhile
            self._body.deleteLater()
        self.fields = list(fields)
        self.editors = {}
        self.errors = {}
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(0, 0, 0, 0)
        basic = [f for f in fields if not f.get("advanced")]
        advanced = [f for f in fields if f.get("advanced")]
        lay.addWidget(self._grid(basic))
        self.advanced = None
        if advanced:
            self.advanced = QCollapsible(f"Advanced ({len(advanced)})", expandedIcon="▾", collapsedIcon="▸")
            self.advanced.setDuration(0)  # no animation: instant, and testable without waiting
            self.advanced.addWidget(self._grid(advanced))
            lay.addWidget(self.advanced)
        if not fields:
            note = QLabel("This package declares no hyper-parameters.")
            muted(note)
            lay.addWidget(note)
        lay.addStretch(1)
        self._body = body
        self._layout.addWidget(body)
        self.set_read_only(self._read_only)

    def _grid(self, fields: list[dict]) -> QWidget:
        w = QWidget()
        grid = QGridLayout(w)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setHorizontalSpacing(12)
        grid.setColumnStretch(2, 1)
        for row, f in enumerate(fields):
            label = QLabel(f["name"])
            editor = self._editor(f)
            editor.setObjectName(f"field_{f['name']}")
            tip = _tooltip(f)
            label.setToolTip(tip)
            editor.setToolTip(tip)
            label.setBuddy(editor)
            help_ = QLabel(f.get("help") or "")
            help_.setWordWrap(True)
            help_.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            muted(help_)
            grid.addWidget(label, row, 0)
            grid.addWidget(editor, row, 1)
            grid.addWidget(help_, row, 2)
            self.editors[f["name"]] = editor
        return w

    def _editor(self, f: dict) -> QWidget:
        kind, value = f["kind"], f.get("value", f.get("default"))
        if kind == "bool":
            e = QCheckBox()
            e.setChecked(bool(value))
            e.toggled.connect(self._on_change)
        elif kind == "choice":
            e = QComboBox()
            e.addItems([str(c) for c in f.get("choices") or []])
            if value is not None:
                e.setCurrentText(str(value))
            e.currentTextChanged.connect(self._on_change)
        elif kind == "int" and not f.get("allow_auto") and (value is None or isinstance(value, int)):
            e = QSpinBox()
            lo = f.get("minimum")
            hi = f.get("maximum")
            e.setRange(int(max(lo, _INT_MIN)) if lo is not None else _INT_MIN,
                       int(min(hi, _INT_MAX)) if hi is not None else _INT_MAX)
            e.setValue(int(value or 0))
            e.setMinimumWidth(110)
            e.valueChanged.connect(self._on_change)
        else:
            from desktop_app.sdk.views import display_value
            e = QLineEdit(display_value(value))
            if f.get("allow_auto"):
                e.setPlaceholderText("auto")
            e.setMinimumWidth(110)
            e.textChanged.connect(self._on_change)
        return e

    # -- values ---------------------------------------------------------------------------
    def raw_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, e in self.editors.items():
            if isinstance(e, QCheckBox):
                out[name] = e.isChecked()
            elif isinstance(e, QComboBox):
                out[name] = e.currentText()
            elif isinstance(e, QSpinBox):
                out[name] = e.value()
            elif isinstance(e, QLineEdit):
                out[name] = e.text()
        return out

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(coerced values, errors by field); fields in error are marked with their message."""
        from desktop_app.sdk.views import coerce_form
        values, errors = coerce_form(self.fields, self.raw_values())
        self._mark(errors)
        return values, errors

    def set_value(self, name: str, value: Any) -> None:
        from desktop_app.sdk.views import display_value
        e = self.editors[name]
        if isinstance(e, QCheckBox):
            e.setChecked(bool(value))
        elif isinstance(e, QComboBox):
            e.setCurrentText(str(value))
        elif isinstance(e, QSpinBox):
            e.setValue(int(value))
        elif isinstance(e, QLineEdit):
            e.setText(display_value(value))

    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only
        for e in self.editors.values():
            e.setEnabled(not read_only)

    def _on_change(self, *_: Any) -> None:
        if self.errors:
            self.values()  # clear marks as soon as a field is fixed
        self.changed.emit()

    def _mark(self, errors: dict[str, str]) -> None:
        self.errors = errors
        for name, e in self.editors.items():
            msg = errors.get(name)
            e.setStyleSheet(_ERROR_STYLE if msg else "")
            f = next(f for f in self.fields if f["name"] == name)
            e.setToolTip(msg or _tooltip(f))
        if self.advanced is not None and any(f.get("advanced") and f["name"] in errors for f in self.fields):
            self.advanced.expand(animate=False)


def _tooltip(f: dict) -> str:
    parts = [f.get("help") or f["name"]]
    lo, hi = f.get("minimum"), f.get("maximum")
    if lo is not None or hi is not None:
        parts.append(f"range {range_text(lo, hi)}")
    if f.get("default") is not None:
        parts.append(f"default {f['default']}")
    return "\n".join(parts)


def number_text(v: float | int) -> str:
    """A bound as a person reads it: whole numbers in full with separators (2,147,483,647, not 2.14748e+09)."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    return f"{v:g}"


def range_text(lo: float | int | None, hi: float | int | None) -> str:
    """'lo … hi' with either end left blank when open."""
    return f"{'' if lo is None else number_text(lo)} … {'' if hi is None else number_text(hi)}"
