"""The first page on a new catalog: what to do first, each step one click away."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from ..style import monospace, muted, title_font

SNIPPET = """import desktop_app.sdk as dl
model = dl.models.get(model_name="my-model")
with model.log_run() as run:
    for step in range(100):
        run.log(step, **{"train/loss": 1 / (step + 1)})"""


class WelcomePage(QScrollArea):
    navigate = Signal(str, str)
    clone_requested = Signal(str)
    add_package_requested = Signal()
    new_dataset_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.targets: dict[str, str] = {}
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget()
        outer = QVBoxLayout(content)
        outer.setContentsMargins(32, 24, 32, 24)
        title = QLabel("Welcome to Model Desk")
        title.setFont(title_font(self.font(), 1.8))
        outer.addWidget(title)
        self.status = QLabel("Opening the catalog…")
        muted(self.status)
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        outer.addSpacing(12)
        steps = QFrame()
        grid = QGridLayout(steps)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(14)
        self.buttons: dict[str, QPushButton] = {}
        rows = (
            ("dataset", "1. Look at the sample data",
             "A generated set of shapes (1000 images, train / validation / test) lives in the sample project.",
             "Open the shapes dataset"),
            ("new_dataset", "2. Bring your own images",
             "A new dataset takes a folder of images (one subfolder per class labels them) or a COCO / YOLO / "
             "VOC / Dataloop set. Split it into train / validation / test on its page, then train a clone on it.",
             "New dataset…"),
            ("model", "3. Open a pretrained model",
             "Each package ships a pretrained model. Its page shows details, configuration, artifacts and charts.",
             "Open pretrained-resnet"),
            ("clone", "4. Clone it and train",
             "A clone is a new version: edit its hyper-parameters, then train with one click. The job shows up "
             "in the jobs panel below, and the charts fill while it runs.",
             "Clone pretrained-resnet…"),
            ("package", "5. Bring your own model code",
             "A folder with a dl.BaseModelAdapter subclass becomes a package you can clone and train like the "
             "built-in ones.",
             "Add a package…"),
        )
        for k, (key, head, text, button) in enumerate(rows):
            h = QLabel(f"<b>{head}</b>")
            t = QLabel(text)
            t.setWordWrap(True)
            b = QPushButton(button)
            b.setMinimumWidth(200)
            b.clicked.connect(lambda _=False, key=key: self._go(key))
            self.buttons[key] = b
            grid.addWidget(h, 2 * k, 0, 1, 2)
            grid.addWidget(t, 2 * k + 1, 0)
            grid.addWidget(b, 2 * k + 1, 1, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(0, 1)
        outer.addWidget(steps)
        outer.addSpacing(10)
        outer.addWidget(QLabel("<b>6. Log metrics from your own script</b> — they appear on the model's "
                               "Metrics tab while the window is open:"))
        code = QLabel(SNIPPET)
        code.setFont(monospace())
        code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        code.setFrameShape(QFrame.Shape.StyledPanel)
        code.setContentsMargins(10, 8, 10, 8)
        outer.addWidget(code)
        outer.addStretch(1)
        self.setWidget(content)
        self.set_targets({})
        self.set_can_create(False)

    def set_targets(self, targets: dict[str, str], status: str = "") -> None:
        """targets: 'dataset' / 'model' -> entity id (the sample's), enabling the matching buttons."""
        self.targets = dict(targets)
        self.buttons["dataset"].setEnabled("dataset" in targets)
        self.buttons["model"].setEnabled("model" in targets)
        self.buttons["clone"].setEnabled("model" in targets)
        self.buttons["package"].setEnabled(bool(targets))
        if status:
            self.status.setText(status)

    def set_can_create(self, can: bool) -> None:
        """New dataset… works on an open catalog that is not read-only."""
        self.buttons["new_dataset"].setEnabled(can)

    def _go(self, key: str) -> None:
        if key == "dataset":
            self.navigate.emit("dataset", self.targets["dataset"])
        elif key == "model":
            self.navigate.emit("model", self.targets["model"])
        elif key == "clone":
            self.clone_requested.emit(self.targets["model"])
        elif key == "package":
            self.add_package_requested.emit()
        elif key == "new_dataset":
            self.new_dataset_requested.emit()
