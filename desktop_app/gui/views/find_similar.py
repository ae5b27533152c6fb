"""Find similar for the dataset page: the search on the page's task pool, the banner's states (searching, found,
no feature set), Embed with <model>… and the embed job it waits for before searching again.

The page owns the gallery and its `show_only`; this asks it to show what a search found. A newer search, a list
shown by another view, Clear or another dataset drops what an older search or embed job would still bring.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from desktop_app.domain.status import ExecutionStatus

from ..similar import DEFAULT_K, Similar, caption, find_similar

if TYPE_CHECKING:
    from .dataset_page import DatasetPage

log = logging.getLogger(__name__)

POLL_MS = 500


class SimilarSearch(QObject):
    def __init__(self, page: DatasetPage):
        super().__init__(page)
        self.page = page
        self.gen = 0                                    # what an answer must match to be shown
        self.last: Similar | None = None                # the last answer: its item, its model choices, embedders
        self._embedding: dict[str, tuple[str, int]] = {}   # embed job id -> (model id, item id) to search after
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        page.banner.model_chosen.connect(self.model_chosen)
        page.banner.embed_requested.connect(self.embed)

    def cancel(self) -> None:
        """Nothing older is shown any more (Clear, another list, another dataset); embed jobs run on unwatched."""
        self.gen += 1
        self.last = None
        self._embedding.clear()
        self._timer.stop()

    def search(self, item_id: int, *, model_id: str | None = None, k: int = DEFAULT_K) -> None:
        self.gen += 1
        gen, client, item_id = self.gen, self.page.client, int(item_id)
        self.page.banner.show_busy("Finding similar items…")
        self.page._tasks.submit(lambda: find_similar(client, item_id, k=k, model_id=model_id),
                                lambda r: self._found(gen, r), lambda e: self._failed(gen, e))

    def _found(self, gen: int, r: Similar) -> None:
        page = self.page
        if gen != self.gen or r.dataset_id != page.dataset_id:
            return
        self.last = r
        name = caption(r.item_name)
        if not r.found:
            if r.embedders:
                text = f"No model has embedded {name}: embed the dataset to find items like it"
            else:
                text = (f"No model has embedded {name}, and no model of this project has weights to embed it "
                        f"with: train one first")
            page.banner.show_missing(text, r.embedders)
            page.message.emit(text)
            return
        title = f"Similar to {name} by {r.model_name}: {len(r.item_ids)} nearest (cosine distance)"
        page.show_found(r.item_ids, title, r.distances, [(c.model_id, c.model_name) for c in r.choices], r.model_id)
        page.message.emit(title)

    def _failed(self, gen: int, error: BaseException) -> None:
        if gen == self.gen:
            self.page.restore_banner()
            self.page._fail("Could not find similar items", error)

    def model_chosen(self, model_id: str) -> None:
        if self.last is not None and model_id:
            self.search(self.last.item_id, model_id=model_id)

    # -- Embed with <model>… ----------------------------------------------------------------
    def embed(self, model_id: str) -> None:
        """After a yes, the dataset's items are embedded with the model (a job); the search runs again for the same
        item when the job ends."""
        page, r = self.page, self.last
        if r is None or not model_id or page.dataset_id is None:
            return
        if page.catalog.read_only:
            page.message.emit("The catalog is open read-only: nothing can be embedded")
            return
        name = dict(r.embedders).get(model_id, model_id)
        ds = page.catalog.get_dataset(page.dataset_id)
        n = page.catalog.count_items(ds.id)
        answer = QMessageBox.question(
            page, "Embed the dataset",
            f"Embed the {n:,} items of {ds.name} with {name}?\n\nIt runs as a job (the jobs panel shows it); "
            f"items like {caption(r.item_name)} show here when it ends.")
        if answer == QMessageBox.StandardButton.Yes:
            self.start_embed(model_id, r.item_id)

    def start_embed(self, model_id: str, item_id: int) -> None:
        """Queue the embed job (model.embed_datasets); search for `item_id` by that model once it succeeds."""
        page = self.page
        if page.dataset_id is None:
            return
        gen = self.gen
        names = dict(self.last.embedders) if self.last is not None else {}
        name = names.get(model_id) or page.catalog.get_model(model_id).name

        def queued(ex) -> None:
            if gen != self.gen:
                return                 # cleared or another search meanwhile: the job runs, nothing waits on it
            self._embedding[ex.id] = (model_id, int(item_id))
            self._timer.start()
            page.banner.show_busy(f"Embedding the dataset with {name}… similar items show when the job ends")
            page.message.emit(f"Embedding with {name}…")

        page.banner.show_busy(f"Starting to embed with {name}…")
        page.actions.embed_datasets(model_id, [page.dataset_id], queued, lambda e: self._embed_failed(gen, e),
                                    tasks=page._tasks)

    def _embed_failed(self, gen: int, error: BaseException) -> None:
        if gen == self.gen and self.last is not None:
            self.page.banner.show_missing(f"Could not embed: {error}", self.last.embedders)
        self.page._fail("Could not start embedding", error)

    def _poll(self) -> None:
        if not self._embedding:
            self._timer.stop()
            return
        cat, ids, gen = self.page.catalog, list(self._embedding), self.gen

        def read() -> list:
            return [cat.get_execution(i) for i in ids]

        def done(execs: list) -> None:
            for ex in execs:
                if gen == self.gen and ex.status in ExecutionStatus.FINAL and ex.id in self._embedding:
                    self._ended(ex)
        self.page._tasks.submit(read, done, lambda e: log.warning("reading the embed job failed: %s", e))

    def _ended(self, ex) -> None:
        model_id, item_id = self._embedding.pop(ex.id)
        if not self._embedding:
            self._timer.stop()
        if ex.status == ExecutionStatus.SUCCESS:
            self.search(item_id, model_id=model_id)
        elif self.last is not None:     # a failure is reported with its log by the window's jobs watcher
            self.page.banner.show_missing(f"The embed job {ex.status}{': ' + ex.error if ex.error else ''}",
                                          self.last.embedders)
