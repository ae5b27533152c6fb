"""Catalog housekeeping: space by kind, deleting a model with its files, garbage collection, backup to one
archive and restore; the work runs on a thread with a progress bar, the logic lives in catalog/housekeeping."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QThread, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QMessageBox, QProgressBar, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop_app.domain.status import ModelStatus
from desktop_app.errors import UserError

from ..style import ERROR_STYLE, muted, title_font

log = logging.getLogger("desktop_app.gui")

BUSY_STATUSES = {ModelStatus.TRAINING: "it is training: cancel the job first",
                 ModelStatus.PENDING: "a job for it is queued: cancel the job first",
                 ModelStatus.DEPLOYED: "it is deployed: stop its service first"}


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


class Work(QThread):
    """fn(progress) on a thread; progress(done, total) arrives on the GUI thread as a signal.

    Not a child of the dialog: closing the window mid-backup must not destroy a running thread (Qt aborts);
    `running` keeps it alive until it ends, and the app waits for it before quitting."""

    progress = Signal(object, object)
    done = Signal(object)
    failed = Signal(object)
    running: set[Work] = set()

    def __init__(self, fn: Callable[[Callable[[int, int], None]], Any]):
        super().__init__()
        self.fn = fn
        Work.running.add(self)
        self.finished.connect(self._forget)

    def _forget(self) -> None:
        Work.running.discard(self)
        self.deleteLater()

    @classmethod
    def wait_all(cls, timeout_ms: int = 600_000) -> None:
        for w in list(cls.running):
            w.wait(timeout_ms)

    def run(self) -> None:
        try:
            result = self.fn(lambda done, total: self.progress.emit(done, total))
        except Exception as e:  # noqa: BLE001 - shown in the dialog
            self.failed.emit(e)
        else:
            self.done.emit(result)


class HousekeepingDialog(QDialog):
    catalog_changed = Signal()                # a model was deleted: the navigator rebuilds
    open_catalog_requested = Signal(str)      # a restored catalog to open in the window

    def __init__(self, catalog: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("housekeepingDialog")
        self.catalog = catalog
        self.work: Work | None = None
        self._failing = ""                        # what the running work is, for app.log when it fails
        self.restored: Path | None = None
        self.garbage: dict | None = None
        self.setWindowTitle("Catalog housekeeping")
        self.resize(1060, 640)
        outer = QVBoxLayout(self)
        head = QLabel("Catalog housekeeping")
        head.setFont(title_font(self.font(), 1.3))
        outer.addWidget(head)
        where = QLabel(f"{catalog.home}" + ("  (open read-only: nothing here can be deleted)"
                                            if catalog.read_only else ""))
        where.setObjectName("where")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        muted(where)
        outer.addWidget(where)
        grid = QGridLayout()
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        grid.addWidget(self._space_box(), 0, 0, 2, 1)
        grid.addWidget(self._models_box(), 0, 1)
        grid.addWidget(self._maintenance_box(), 1, 1)
        outer.addLayout(grid, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.progress_label = QLabel()
        muted(self.progress_label)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.progress_label)
        outer.addLayout(bottom)
        row = QHBoxLayout()
        row.addWidget(self.message, 1)
        self.open_restored_button = QPushButton("Open the restored catalog")
        self.open_restored_button.hide()
        self.open_restored_button.clicked.connect(self._open_restored)
        row.addWidget(self.open_restored_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        row.addWidget(buttons)
        outer.addLayout(row)
        QApplication.instance().aboutToQuit.connect(Work.wait_all)
        self.action_buttons = [self.refresh_button, self.delete_button, self.find_garbage_button,
                               self.collect_button, self.backup_button, self.restore_button]
        self.refresh()

    # -- layout ---------------------------------------------------------------------------
    def _space_box(self) -> QGroupBox:
        box = QGroupBox("Space used")
        lay = QVBoxLayout(box)
        self.sizes_tree = QTreeWidget()
        self.sizes_tree.setHeaderLabels(["What", "Size"])
        self.sizes_tree.setRootIsDecorated(False)
        self.sizes_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.sizes_tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.sizes_tree, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        lay.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignRight)
        return box

    def _models_box(self) -> QGroupBox:
        box = QGroupBox("Models")
        lay = QVBoxLayout(box)
        self.models_tree = QTreeWidget()
        self.models_tree.setHeaderLabels(["Model", "Status", "Files"])
        self.models_tree.setRootIsDecorated(False)
        self.models_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.models_tree.itemSelectionChanged.connect(self._update_buttons)
        lay.addWidget(self.models_tree, 1)
        row = QHBoxLayout()
        note = QLabel("Deleting a model removes its artifacts, metrics, evaluations and the files only it used.")
        note.setWordWrap(True)
        muted(note)
        row.addWidget(note, 1)
        self.delete_button = QPushButton("Delete model…")
        self.delete_button.clicked.connect(self._ask_delete)
        row.addWidget(self.delete_button)
        lay.addLayout(row)
        return box

    def _maintenance_box(self) -> QGroupBox:
        box = QGroupBox("Clean up, back up, restore")
        lay = QGridLayout(box)
        lay.setColumnStretch(0, 1)
        gc_text = QLabel("Files in the store that nothing in the catalog refers to (left by a crash or an "
                         "interrupted import).")
        gc_text.setWordWrap(True)
        self.find_garbage_button = QPushButton("Find unreferenced files")
        self.find_garbage_button.clicked.connect(lambda: self.collect_garbage(dry_run=True))
        self.collect_button = QPushButton("Delete them")
        self.collect_button.clicked.connect(lambda: self.collect_garbage(dry_run=False))
        self.garbage_label = QLabel()
        lay.addWidget(gc_text, 0, 0)
        lay.addWidget(self.find_garbage_button, 0, 1)
        lay.addWidget(self.garbage_label, 1, 0)
        lay.addWidget(self.collect_button, 1, 1)
        backup_text = QLabel("One archive of the database and every stored file. Paths inside are relative, "
                             "so it restores into any folder, on any machine.")
        backup_text.setWordWrap(True)
        self.backup_button = QPushButton("Back up to an archive…")
        self.backup_button.clicked.connect(self._ask_backup)
        self.restore_button = QPushButton("Restore an archive…")
        self.restore_button.clicked.connect(self._ask_restore)
        lay.addWidget(backup_text, 2, 0, 2, 1)
        lay.addWidget(self.backup_button, 2, 1)
        lay.addWidget(self.restore_button, 3, 1)
        return box

    # -- space and models -------------------------------------------------------------------
    def refresh(self) -> None:
        from desktop_app.catalog import housekeeping as hk
        cat = self.catalog

        def measure(_progress):
            models = []
            for m in cat.find_models():
                size = sum(a.size or 0 for a in cat.list_artifacts(m.id))
                models.append((m.id, m.name, m.status, size))
            return hk.sizes(cat), models
        self._start("Measuring…", measure, self._show_sizes)

    def _show_sizes(self, result) -> None:
        sizes, models = result
        self.sizes = sizes
        self.sizes_tree.clear()
        for kind, n in sizes.items():
            item = QTreeWidgetItem([kind.capitalize(), human_bytes(n)])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if kind == "total":
                f = QFont(item.font(0))
                f.setBold(True)
                item.setFont(0, f)
                item.setFont(1, f)
            self.sizes_tree.addTopLevelItem(item)
        selected = self.selected_model()
        self.models_tree.clear()
        for mid, name, status, size in sorted(models, key=lambda r: r[1].lower()):
            item = QTreeWidgetItem([name, status, human_bytes(size) if size else "–"])
            item.setData(0, Qt.ItemDataRole.UserRole, mid)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.models_tree.addTopLevelItem(item)
            if mid == selected:
                item.setSelected(True)
        self._update_buttons()

    def selected_model(self) -> str | None:
        items = self.models_tree.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def select_model(self, model_id: str) -> bool:
        for i in range(self.models_tree.topLevelItemCount()):
            item = self.models_tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == model_id:
                self.models_tree.setCurrentItem(item)
                return True
        return False

    def confirm(self, title: str, text: str) -> bool:
        """Asks the user; tests replace it on the instance."""
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _ask_delete(self) -> None:
        mid = self.selected_model()
        if mid:
            self.delete_model(mid)

    def delete_model(self, model_id: str, *, confirm: bool = True) -> bool:
        from desktop_app.catalog import housekeeping as hk
        cat = self.catalog
        try:
            model = cat.get_model(model_id)
        except UserError as e:
            self.show_error(e)
            return False
        if model.status in BUSY_STATUSES:
            self.show_error(UserError(f"{model.name} cannot be deleted now: {BUSY_STATUSES[model.status]}"))
            return False
        children = [m.name for m in cat.find_models() if m.parent_id == model_id]
        text = (f"Delete {model.name} with its artifacts, metrics and evaluations? This cannot be undone."
                + (f"\n\nIts clones ({', '.join(children)}) stay, without a parent." if children else ""))
        if confirm and not self.confirm("Delete model", text):
            return False

        def done(result) -> None:
            self.show_message(f"Deleted {model.name}: {result['removed_files']} file(s), "
                              f"{human_bytes(result['freed_bytes'])} freed.")
            self.catalog_changed.emit()
            self.refresh()
        self._start(f"Deleting {model.name}…", lambda _p: hk.delete_model(cat, model_id), done)
        return True

    # -- garbage collection -------------------------------------------------------------------
    def collect_garbage(self, *, dry_run: bool) -> None:
        cat = self.catalog
        if not dry_run and cat.read_only:
            # Another window may be writing a file into the store right now: deleting "unreferenced"
            # files from here could take it away before its row is written.
            self.show_error(UserError("the catalog is open read-only: unreferenced files can only be deleted "
                                      "by the window that holds the catalog"))
            return

        def done(result: dict) -> None:
            if result.get("busy"):
                self.garbage = None
                self.garbage_label.setText("Another process is writing into the store (an import?): try again "
                                           "when it has finished.")
            elif dry_run:
                self.garbage = result
                temp = f" ({result['temp_files']} left by interrupted writes)" if result.get("temp_files") else ""
                scratch = result.get("scratch_folders") or 0
                jobs = (f"{scratch} finished job folder(s) ({human_bytes(result.get('scratch_bytes') or 0)})"
                        if scratch else "")
                files = f"{result['removed']} unreferenced file(s){temp}" if result["removed"] else ""
                self.garbage_label.setText(
                    f"{' and '.join(x for x in (files, jobs) if x)}: {human_bytes(result['freed_bytes'])} in all"
                    if (files or jobs) else "No unreferenced files or finished jobs' folders.")
                self.show_message("")
            else:
                self.garbage = None
                self.garbage_label.setText("No unreferenced files or finished jobs' folders.")
                self.show_message(f"Deleted {result['removed']} unreferenced file(s) and "
                                  f"{result.get('scratch_folders') or 0} finished job folder(s), "
                                  f"{human_bytes(result['freed_bytes'])} freed.")
                self.refresh()
            self._update_buttons()
        self._start("Looking for unreferenced files…" if dry_run else "Deleting unreferenced files…",
                    lambda _p: cat.garbage_collect(dry_run=dry_run), done)

    # -- backup and restore ---------------------------------------------------------------------
    def _ask_backup(self) -> None:
        from datetime import date
        suggested = str(Path.home() / f"model-desk-backup-{date.today().isoformat()}.tar.gz")
        path, _ = QFileDialog.getSaveFileName(self, "Back up the catalog to", suggested,
                                              "Model Desk backups (*.tar.gz)")
        if path:
            self.backup(path)

    def backup(self, archive: Path | str) -> None:
        from desktop_app.catalog import housekeeping as hk
        archive = Path(archive)
        if not archive.name.endswith((".tar.gz", ".tgz")):
            archive = archive.with_name(archive.name + ".tar.gz")
        def done(path) -> None:
            text = f"Backed up to {path} ({human_bytes(Path(path).stat().st_size)})."
            log.info("housekeeping: %s", text)
            self.show_message(text)
        log.info("housekeeping: backing up %s to %s", self.catalog.home, archive)
        self._start(f"Backing up to {archive.name}…", lambda p: hk.backup(self.catalog, archive, progress=p),
                    done, failing=f"the backup to {archive}")

    def _ask_restore(self) -> None:
        archive, _ = QFileDialog.getOpenFileName(self, "Restore which backup?", str(Path.home()),
                                                 "Model Desk backups (*.tar.gz *.tgz);;All files (*)")
        if not archive:
            return
        target = QFileDialog.getExistingDirectory(self, "Restore into which (new, empty) folder?",
                                                  str(Path(archive).parent))
        if target:
            self.restore(archive, target)

    def restore(self, archive: Path | str, target: Path | str) -> None:
        from desktop_app.catalog import housekeeping as hk
        target = Path(target)

        def run(progress):
            cat = hk.restore(archive, target, progress=progress)
            try:
                return len(cat.find_models())
            finally:
                cat.close()

        def done(n_models: int) -> None:
            self.restored = target
            log.info("housekeeping: restored %s into %s (%d model(s))", archive, target, n_models)
            self.show_message(f"Restored {n_models} model(s) into {target}.")
            self.open_restored_button.show()
        self.open_restored_button.hide()
        log.info("housekeeping: restoring %s into %s", archive, target)
        self._start(f"Restoring {Path(archive).name}…", run, done, failing=f"the restore of {archive} into {target}")

    def _open_restored(self) -> None:
        if self.restored is not None:
            self.open_catalog_requested.emit(str(self.restored))
            self.accept()

    # -- running work ---------------------------------------------------------------------------
    def _start(self, what: str, fn: Callable, on_done: Callable[[Any], None], *, failing: str = "") -> bool:
        """Run `fn` on a thread; `failing`: what app.log names when it fails ("the backup to ...")."""
        if self.busy:
            self.show_error(UserError("wait for the current task to finish"))
            return False
        self.work = Work(fn)
        self._on_done = on_done
        self._failing = failing
        # Bound methods: if the dialog is gone when the work ends, Qt drops the calls.
        self.work.progress.connect(self._progress)
        self.work.done.connect(self._finished)
        self.work.failed.connect(self._failed)
        self.progress.setValue(0)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress.show()
        self.progress_label.setText(what)
        self._update_buttons()
        self.work.start()
        return True

    @property
    def busy(self) -> bool:
        return self.work is not None          # from start until its result was applied

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / total) if total else 1000)
        label = self.progress_label.text().split("  ")[0]
        self.progress_label.setText(f"{label}  {human_bytes(done)} of {human_bytes(total)}")

    def _finished(self, result: Any) -> None:
        on_done = self._on_done
        self._end()
        try:
            on_done(result)
        except Exception as e:  # noqa: BLE001
            self.show_error(e)

    def _failed(self, error: BaseException) -> None:
        failing = self._failing
        self._end()
        self.show_error(error, failing)

    def _end(self) -> None:
        if self.work is not None:
            self.work.wait()
        self.work = None
        self.progress.hide()
        self.progress_label.setText("")
        self._update_buttons()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        return self.work.wait(timeout_ms) if self.work is not None else True

    # -- messages ----------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)

    def show_error(self, error: BaseException, failing: str = "") -> None:
        """The error under the buttons and in app.log (`failing`: the task that failed, named there)."""
        what = f"{failing} failed: " if failing else ""
        if isinstance(error, UserError):
            text = str(error)
            log.warning("housekeeping: %s%s", what, text)
        else:
            text = f"Unexpected error: {type(error).__name__}: {error}"
            log.error("housekeeping: %s%s", what or "failed: ", text, exc_info=error)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(text[:1].upper() + text[1:])

    def _update_buttons(self) -> None:
        busy = self.busy
        for b in self.action_buttons:
            b.setEnabled(not busy)
        self.delete_button.setEnabled(not busy and self.selected_model() is not None)
        self.collect_button.setEnabled(not busy and bool(self.garbage and (self.garbage.get("removed") or self.garbage.get("scratch_folders"))))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.busy:
            self.show_error(UserError("wait for the current task to finish before closing"))
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:
        if self.busy:
            self.show_error(UserError("wait for the current task to finish before closing"))
            return
        super().reject()
