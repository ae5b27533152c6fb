"""A package's page: what it is, its declared hyper-parameters, and its models."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMessageBox, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop_app.errors import UserError

from ..actions import Actions
from ..style import muted, status_icon, title_font
from ..widgets.config_form import range_text


class PackagePage(QWidget):
    navigate = Signal(str, str)
    add_package_requested = Signal()
    deleted = Signal(str)                 # the package is gone: one line saying what went with it
    error = Signal(str, object)           # title, exception: for the ErrorHub

    def __init__(self, client: Any, parent: QWidget | None = None, *, actions: Any = None):
        super().__init__(parent)
        self.client = client
        self.actions = Actions.for_page(client, actions, self)
        self.package_id: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 6)
        head = QHBoxLayout()
        self.title = QLabel()
        self.title.setFont(title_font(self.font()))
        head.addWidget(self.title, 1)
        add = QPushButton("Add a package…")
        add.clicked.connect(self.add_package_requested)
        head.addWidget(add, 0, Qt.AlignmentFlag.AlignTop)
        self.delete_button = QPushButton("Delete package…")
        self.delete_button.clicked.connect(self.delete_package)
        head.addWidget(self.delete_button, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(head)
        self.description = QLabel()
        self.description.setWordWrap(True)
        muted(self.description)
        lay.addWidget(self.description)
        box = QGroupBox("Details")
        form = QFormLayout(box)
        self.fields: dict[str, QLabel] = {}
        for key in ("Kind", "Version", "Output", "Entry point", "Class", "Source"):
            label = QLabel()
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            form.addRow(key, label)
        lay.addWidget(box)
        self.hparams = QTreeWidget()
        self.hparams.setHeaderLabels(["Hyper-parameter", "Kind", "Default", "Range / choices", "Help"])
        self.hparams.setRootIsDecorated(False)
        for col, width in ((0, 190), (1, 60), (2, 90), (3, 170)):
            self.hparams.setColumnWidth(col, width)
        hb = QGroupBox("Declared hyper-parameters")
        QVBoxLayout(hb).addWidget(self.hparams)
        lay.addWidget(hb, 2)
        # Pushing code under the package's name again makes a new version; each model stays on its own.
        self.versions = QTreeWidget()
        self.versions.setObjectName("packageVersions")
        self.versions.setHeaderLabels(["Version", "Added", "Models on it", "Class"])
        self.versions.setRootIsDecorated(False)
        for col, width in ((0, 130), (1, 150), (2, 100)):
            self.versions.setColumnWidth(col, width)
        self.versions_box = QGroupBox("Versions")
        QVBoxLayout(self.versions_box).addWidget(self.versions)
        lay.addWidget(self.versions_box, 1)
        self.models = QTreeWidget()
        self.models.setHeaderLabels(["Model", "Status", "Version"])
        self.models.setRootIsDecorated(False)
        self.models.setColumnWidth(0, 260)
        self.models.itemDoubleClicked.connect(
            lambda item, _c: self.navigate.emit("model", item.data(0, Qt.ItemDataRole.UserRole)))
        mb = QGroupBox("Models of this package")
        QVBoxLayout(mb).addWidget(self.models)
        lay.addWidget(mb, 1)

    def set_package(self, package_id: str) -> None:
        cat = self.client.catalog
        self.package_id = package_id
        p = cat.get_package(package_id)
        self.title.setText(p.name)
        self.description.setText(p.description or "")
        values = {"Kind": p.kind, "Version": p.version, "Output": p.output_type, "Entry point": p.entry_point or "",
                  "Class": p.class_name or "", "Source": str(p.metadata.get("source", "built in"))}
        for key, text in values.items():
            self.fields[key].setText(text)
        self.hparams.clear()
        rows = p.hyperparameters or [{"name": k, "kind": type(v).__name__, "default": v, "help": "(not declared)"}
                                     for k, v in p.default_configuration.items()]
        for h in rows:
            rng = ", ".join(h.get("choices") or []) or _range(h.get("minimum"), h.get("maximum"))
            name = h["name"] + ("  (advanced)" if h.get("advanced") else "")
            item = QTreeWidgetItem([name, h.get("kind", ""), str(h.get("default")), rng, h.get("help", "")])
            item.setToolTip(4, h.get("help", ""))
            self.hparams.addTopLevelItem(item)
        self.models.clear()
        on_version: dict[str, int] = {}
        for m in cat.find_models(package_id=package_id):
            version = cat.model_package_version(m.id)
            on_version[version] = on_version.get(version, 0) + 1
            item = QTreeWidgetItem([m.name, m.status, version])
            item.setIcon(1, status_icon(m.status))
            item.setData(0, Qt.ItemDataRole.UserRole, m.id)
            self.models.addTopLevelItem(item)
        self._fill_versions(p, on_version)

    def _fill_versions(self, current: Any, on_version: dict[str, int]) -> None:
        """Newest first, the current one marked; how many of the package's models are on each."""
        self.versions.clear()
        revisions = self.client.catalog.list_package_revisions(current.id)
        for rev in reversed(revisions):
            mark = "  (current)" if rev.version == current.version else ""
            n = on_version.get(rev.version, 0)
            item = QTreeWidgetItem([rev.version + mark, (rev.created_at or "")[:16].replace("T", " "), str(n),
                                    rev.class_name or ""])
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignCenter)
            item.setData(0, Qt.ItemDataRole.UserRole, rev.version)
            self.versions.addTopLevelItem(item)
        if len(revisions) > 1:
            title = f"Versions ({len(revisions)})"
        elif current.kind == "user":
            title = "Versions (one so far: adding a folder under this name again makes the next)"
        else:
            title = "Versions (a built-in package has one)"
        self.versions_box.setTitle(title)


    def confirm(self, title: str, text: str) -> bool:
        """Asks the user; tests replace it on the instance."""
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def delete_package(self) -> bool:
        """Delete the package shown, after a confirmation that lists every model that would go with it."""
        from ..dialogs.housekeeping_dialog import human_bytes

        if self.package_id is None:
            return False
        cat = self.client.catalog
        try:
            pkg = cat.get_package(self.package_id)
            models = cat.find_models(package_id=pkg.id)
        except UserError as e:
            self.error.emit("Could not delete the package", e)
            return False
        text = f"Delete the package {pkg.name}?"
        if models:
            which = f"Its {len(models)} models" if len(models) > 1 else "Its model"
            text += (f"\n\n{which} would be deleted with it, with {'their' if len(models) > 1 else 'its'} weights, "
                     f"metrics and evaluations:\n"
                     + "\n".join(f"  • {m.name} ({m.status})" for m in models[:20])
                     + (f"\n  … and {len(models) - 20} more" if len(models) > 20 else ""))
        if pkg.kind == "builtin":
            text += "\n\nA built-in package comes back, with its pretrained models, when Model Desk next starts."
        text += "\n\nThis cannot be undone."
        if not self.confirm("Delete package", text):
            return False
        if {m.id for m in cat.find_models(package_id=pkg.id)} != {m.id for m in models}:
            self.error.emit("Could not delete the package", UserError(
                f"the models of {pkg.name} changed while you were asked; look at the list again"))
            self.set_package(pkg.id)
            return False
        try:
            done = self.actions.delete_package(pkg.id, with_models=bool(models))
        except UserError as e:
            self.error.emit("Could not delete the package", e)
            return False
        self.package_id = None
        went = f" and {len(done['models'])} model(s) ({', '.join(done['models'])})" if done["models"] else ""
        self.deleted.emit(f"Deleted the package {done['package']}{went}: {done['removed_files']} file(s), "
                          f"{human_bytes(done['freed_bytes'])} freed.")
        return True


def _range(lo, hi) -> str:
    if lo is None and hi is None:
        return ""
    return range_text(lo, hi)
