"""A dialog that runs one cancellable job (an import, an export) in a worker thread: progress, cancel, outcome."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog

from ..workers import JobWorker, Work


class JobDialog(QDialog):
    """The job control both dialogs share. Subclasses set `progress`, `status`, `CANCELLING` and `PROGRESS`
    (a format with {done} and {total}) and give _set_state, _on_success, _on_failed and _on_cancelled."""

    CANCELLING = "Cancelling…"
    PROGRESS = "{done:,} of {total:,}"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker: JobWorker | None = None
        self._close_when_done = False
        self.state = "idle"              # idle | running | cancelling | done | failed | cancelled

    def run_job(self, work: Work, where: str | Path, message: str) -> JobWorker:
        self.worker = JobWorker(work, where, self)
        self.worker.progressed.connect(self._on_progress)
        self.worker.succeeded.connect(self._on_success)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self._set_state("running", message)
        self.progress.setRange(0, 0)     # busy until the job reports its total
        self.worker.start()
        return self.worker

    @property
    def busy(self) -> bool:
        return self.state in ("running", "cancelling")

    def cancel(self) -> None:
        if self.state == "running" and self.worker is not None:
            self.worker.request_cancel()
            self._set_state("cancelling", self.CANCELLING)
        elif self.state != "cancelling":
            self.reject()

    def wait(self, ms: int = 30_000) -> bool:
        return self.worker.wait(ms) if self.worker is not None else True

    def stop(self, timeout_ms: int = 30_000) -> None:
        """Cancel a running job and wait for it (the page is closing)."""
        if self.worker is not None and self.worker.isRunning():
            self.worker.request_cancel()
            self.worker.wait(timeout_ms)

    def closeEvent(self, event) -> None:
        if self.busy:
            self.cancel()
            event.ignore()   # closes itself once the worker has stopped
            self._close_when_done = True
            return
        super().closeEvent(event)

    def reject(self) -> None:
        if self.busy:
            self.cancel()
            return
        super().reject()

    def _on_progress(self, done: int, total: int) -> None:
        if self.state != "running":
            return
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.status.setText(self.PROGRESS.format(done=done, total=total))

    def _join(self) -> None:
        # The outcome is the worker's last act, so this wait is short; a QThread destroyed while it
        # still runs would abort the whole application.
        if self.worker is not None:
            self.worker.wait()

    def _ended(self, ok: bool) -> None:
        """First thing on an outcome: the worker is joined and the bar shows how it ended."""
        self._join()
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if ok else 0)

    def _close_if_asked(self) -> None:
        """Last thing on a failure or cancel: a close asked for while the job ran happens now."""
        if self._close_when_done:
            super().reject()
