"""Label next: choose a model, a strategy, k, diversity and the pool; rank (off the GUI thread) and open the queue.

Ranking reads the model's stored predictions (dataset.rank_for_labeling). Items it has no prediction on cannot be
ranked: the dialog says how many and offers to predict them first (a prediction job, as the dataset page runs
one), then ranks again when the job ends. Diversity needs the model's feature set (its embeddings); without one
the field is off and says so.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from desktop_app.domain.status import ExecutionStatus
from desktop_app.errors import NotFoundError

from ..style import muted
from ..views.label_queue_page import LabelQueueSpec
from ..workers import TaskRunner

STRATEGIES = (("entropy", "Entropy (every class's probability)"), ("margin", "Margin (the top two classes' gap)"),
              ("least_confidence", "Least confidence (1 - top class)"),
              ("detection", "Detection: an image's score from its boxes"))


class LabelNextDialog(QDialog):
    """OK ("Open the queue") emits `queue_ready` with the ranking (a LabelQueueSpec)."""

    queue_ready = Signal(object)
    ranked = Signal(object)                     # the LabelQueueSpec of each ranking (tests wait on it)

    def __init__(self, client: Any, actions: Any, *, dataset_id: str | None = None, model_id: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.catalog = client.catalog
        self.actions = actions
        self.tasks = TaskRunner(self)
        self.spec: LabelQueueSpec | None = None
        self.predicting: str | None = None      # the prediction job's execution id
        self._gen = 0
        self.setWindowTitle("Label next")
        self.setMinimumWidth(540)

        intro = QLabel("Rank the items the model is least sure of, then label them in order in the review viewer: "
                       "accept a proposal, draw, relabel or skip. Each item labelled is marked reviewed and counts "
                       "as a new label for the pipelines' trigger.")
        intro.setWordWrap(True)
        self.dataset = QComboBox()
        self.model = QComboBox()
        self.strategy = QComboBox()
        for key, text in STRATEGIES:
            self.strategy.addItem(text, key)
        self.k = QSpinBox()
        self.k.setRange(1, 100_000)
        self.k.setValue(50)
        self.diversity = QDoubleSpinBox()
        self.diversity.setRange(0.0, 1.0)
        self.diversity.setSingleStep(0.1)
        self.diversity.setDecimals(2)
        self.diversity.setToolTip("0: by uncertainty alone; above, greedy k-center over the model's embeddings "
                                  "spreads the k items over the k + diversity × (n − k) least sure")
        self.diversity_note = QLabel()
        self.diversity_note.setWordWrap(True)
        muted(self.diversity_note)
        self.unlabeled = QCheckBox("Unlabelled items only")
        self.unlabeled.setChecked(True)
        form = QFormLayout()
        form.addRow("Dataset", self.dataset)
        form.addRow("Model", self.model)
        form.addRow("Strategy", self.strategy)
        form.addRow("Items (k)", self.k)
        diversity = QWidget()                   # the field with its note under it (a row of its own left a gap)
        dl = QVBoxLayout(diversity)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.setSpacing(2)
        dl.addWidget(self.diversity)
        dl.addWidget(self.diversity_note)
        form.addRow("Diversity", diversity)
        form.addRow("", self.unlabeled)
        self.rank_button = QPushButton("Rank")
        self.result = QLabel("Not ranked yet.")
        self.result.setObjectName("labelNextResult")
        self.result.setWordWrap(True)
        self.predict_button = QPushButton("Predict them first")
        self.predict_button.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Open the queue")
        self.ok.setEnabled(False)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.rank_button)
        lay.addWidget(self.result)
        lay.addWidget(self.predict_button)
        lay.addWidget(self.buttons)

        self._poll = QTimer(self)
        self._poll.setInterval(500)
        self._poll.timeout.connect(self._poll_prediction)
        for d in self.catalog.list_datasets():
            self.dataset.addItem(d.name, d.id)
        if dataset_id is None and model_id is not None:
            dataset_id = self.catalog.get_model(model_id).dataset_id
        if dataset_id is not None and self.dataset.findData(dataset_id) >= 0:
            self.dataset.setCurrentIndex(self.dataset.findData(dataset_id))
        self._fill_models(model_id)
        self.dataset.currentIndexChanged.connect(lambda _i: self._fill_models(self.model.currentData()))
        self.model.currentIndexChanged.connect(lambda _i: self._model_changed())
        for w in (self.strategy, self.dataset, self.model):
            w.currentIndexChanged.connect(lambda _i: self._stale())
        self.k.valueChanged.connect(lambda _v: self._stale())
        self.diversity.valueChanged.connect(lambda _v: self._stale())
        self.unlabeled.toggled.connect(lambda _on: self._stale())
        self.rank_button.clicked.connect(self.rank)
        self.predict_button.clicked.connect(self.predict_missing)
        self.buttons.accepted.connect(self._open)
        self.buttons.rejected.connect(self.reject)
        self._model_changed()

    # -- choices ----------------------------------------------------------------------------
    def _fill_models(self, keep: str | None) -> None:
        self.model.blockSignals(True)
        self.model.clear()
        ds_id = self.dataset.currentData()
        project = self.catalog.get_dataset(ds_id).project_id if ds_id else None
        models = self.catalog.find_models(project_id=project) if project else []
        if keep and all(m.id != keep for m in models):
            models = [self.catalog.get_model(keep), *models]
        models.sort(key=lambda m: (m.id != keep, m.dataset_id != ds_id, m.name))
        for m in models:
            self.model.addItem(m.name, m.id)
        self.model.blockSignals(False)
        self._model_changed()

    def _model_changed(self) -> None:
        model_id = self.model.currentData()
        if not model_id:
            self.diversity_note.setText("")
            return
        rec = self.catalog.get_model(model_id)
        self.strategy.setCurrentIndex(self.strategy.findData("entropy" if rec.output_type == "class" else "detection"))
        try:
            fs = self.client.models.get(model_id=model_id).feature_set
            has_vectors = bool(getattr(fs, "count", 0))
        except NotFoundError:
            has_vectors = False
        self.diversity.setEnabled(has_vectors)
        if not has_vectors:
            self.diversity.setValue(0.0)
        self.diversity_note.setText(
            f"Greedy k-center over {rec.name}'s feature set ({fs.count:,} vectors)." if has_vectors else
            f"{rec.name} has no feature set (no embeddings): diversity needs one. Embed the dataset first "
            f"(model.embed_datasets or `desktop-app embed`).")

    def _stale(self) -> None:
        self.spec = None
        self.ok.setEnabled(False)

    # -- ranking ----------------------------------------------------------------------------
    def rank(self) -> None:
        """dataset.rank_for_labeling on the task pool; the result line and the spec when it comes back."""
        ds_id, model_id = self.dataset.currentData(), self.model.currentData()
        if not ds_id or not model_id:
            self.result.setText("Choose a dataset and a model.")
            return
        strategy, k, diversity = self.strategy.currentData(), self.k.value(), self.diversity.value()
        unlabeled = self.unlabeled.isChecked()
        client = self.client
        self._gen += 1
        gen = self._gen
        self.rank_button.setEnabled(False)
        self.result.setText("Ranking…")

        def work() -> LabelQueueSpec:
            q = client.datasets.get(dataset_id=ds_id).rank_for_labeling(
                model_id, strategy=strategy, k=k, diversity=diversity, unlabeled_only=unlabeled)
            return LabelQueueSpec(ds_id, model_id, [it.id for it, _ in q], [float(s) for _, s in q], q.strategy,
                                  q.diversity, unlabeled, q.note, list(q.unscored))
        self.tasks.submit(work, lambda spec: self._ranked(gen, spec), lambda e: self._failed(gen, e))

    def _ranked(self, gen: int, spec: LabelQueueSpec) -> None:
        if gen != self._gen:
            return
        self.rank_button.setEnabled(True)
        self.spec = spec
        lines = [f"{len(spec.items):,} item(s) ranked by {spec.strategy.replace('_', ' ')}"
                 + (f", most uncertain {spec.scores[0]:.3f}" if spec.items else "") + "."]
        if spec.note:
            lines.append(spec.note[0].upper() + spec.note[1:] + ".")
        if spec.unscored:
            lines.append(f"{len(spec.unscored):,} item(s) have no prediction of this model and are not ranked.")
        self.result.setText(" ".join(lines))
        self.predict_button.setText(f"Predict those {len(spec.unscored):,} item(s) first")
        self.predict_button.setVisible(bool(spec.unscored) and self.predicting is None)
        self.ok.setEnabled(bool(spec.items))
        self.ranked.emit(spec)

    def _failed(self, gen: int, error: BaseException) -> None:
        if gen == self._gen:
            self.rank_button.setEnabled(True)
            self.result.setText(f"Could not rank: {error}")

    # -- predicting the missing items -------------------------------------------------------------
    def predict_missing(self) -> None:
        """A prediction job on the items the ranking could not score; ranks again when it ends."""
        if self.spec is None or not self.spec.unscored or self.actions is None:
            return
        self.predict_button.setVisible(False)
        self.result.setText(f"Queueing a prediction job on {len(self.spec.unscored):,} item(s)…")

        def queued(ex: Any) -> None:
            self.predicting = ex.id
            self.result.setText("Predicting (the jobs panel shows it); the ranking runs again when it ends…")
            self._poll.start()
        self.actions.predict(self.spec.model_id, list(self.spec.unscored), queued,
                             lambda e: self.result.setText(f"Could not start the prediction: {e}"), tasks=self.tasks)

    def _poll_prediction(self) -> None:
        if self.predicting is None:
            self._poll.stop()
            return
        ex = self.catalog.get_execution(self.predicting)
        if ex.status not in ExecutionStatus.FINAL:
            return
        self._poll.stop()
        self.predicting = None
        if ex.status == ExecutionStatus.SUCCESS:
            self.rank()
        else:
            self.result.setText(f"The prediction job ended {ex.status}: {ex.error or 'see its log'}")

    def _open(self) -> None:
        if self.spec is not None and self.spec.items:
            self.queue_ready.emit(self.spec)
            self.accept()

    def done(self, r: int) -> None:  # noqa: D401 - Qt API
        self._poll.stop()
        self.tasks.wait(10_000)
        super().done(r)
