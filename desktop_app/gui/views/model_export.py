"""The model page's Export menu: ONNX or TorchScript to a chosen file, exported off the GUI thread, then checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QPushButton, QWidget
from shiboken6 import isValid

FORMATS = {"onnx": ("ONNX", "ONNX model (*.onnx)"), "torchscript": ("TorchScript", "TorchScript module (*.pt)")}
TOOLTIP = ("The trained network as an ONNX or TorchScript file (built-in classifiers and tinydet), "
           "checked against torch on images it never saw")


class ModelExporter(QObject):
    """Owns the Export button; `export(fmt, path)` without the file dialog (tests, scripts)."""

    finished = Signal(object)                # ExportResult, or the exception that stopped it

    def __init__(self, actions: Any, parent: QWidget):
        super().__init__(parent)
        self.actions = actions
        self.page = parent
        self.model: Any = None
        self.busy = False
        self.message: QMessageBox | None = None
        self._folder = str(Path.home())
        self.button = QPushButton("Export")
        menu = QMenu(self.button)
        for fmt, (title, _) in FORMATS.items():
            menu.addAction(f"{title}…", lambda f=fmt: self.ask(f))
        self.button.setMenu(menu)

    def set_model(self, model: Any) -> None:
        self.model = model
        reason = self.actions.why_not_exportable(model)
        self.button.setEnabled(reason is None and not self.busy)
        self.button.setToolTip(reason or TOOLTIP)

    def ask(self, fmt: str) -> None:
        title, filt = FORMATS[fmt]
        start = str(Path(self._folder) / self.actions.export_filename(self.model.name, fmt))
        path, _ = QFileDialog.getSaveFileName(self.page, f"Export {self.model.name} as {title}", start, filt)
        if path:
            self.export(fmt, path)

    def export(self, fmt: str, path: str) -> None:
        self._folder = str(Path(path).parent)
        self.busy = True
        self.button.setEnabled(False)
        self.button.setText("Exporting…")
        model = self.model
        self.actions.export_model(model.id, fmt, path, lambda res: self._done(model, res),
                                  lambda e: self._failed(model, e))

    def _done(self, model: Any, res: Any) -> None:
        if not isValid(self):  # the page went (another catalog was opened) while the file was written
            return
        self._idle()
        title = FORMATS[res.format][0]
        box = QMessageBox(QMessageBox.Icon.Information if res.ok else QMessageBox.Icon.Warning,
                          f"Exported {model.name}", f"{model.name} exported as {title} to:\n{res.path}",
                          parent=self.page)
        verdict = "OK" if res.ok else "TOO FAR: its outputs differ from torch's, do not ship it as is"
        box.setInformativeText(f"Outputs: {', '.join(res.outputs)} ({res.arch}), written in {res.seconds:.1f} s.\n"
                               f"Run on a {res.input_shape} batch it never saw: max abs diff vs torch "
                               f"{res.max_abs_diff:.1e} (tolerance {res.tolerance:.0e}): {verdict}")
        # Qt's message labels are narrow by default and break the path and the figures mid-line.
        box.setStyleSheet("QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 460px; }")
        self.message = box
        box.open()   # not exec(): the window keeps working
        self.finished.emit(res)

    def _failed(self, model: Any, error: BaseException) -> None:
        self.actions.hub.exception(f"Could not export {model.name}", error)  # a UserError shows as its message
        if isValid(self):
            self._idle()
            self.finished.emit(error)

    def _idle(self) -> None:
        self.busy = False
        self.button.setText("Export")
        if self.model is not None:
            self.set_model(self.model)
