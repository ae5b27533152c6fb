"""The guided tour: a few steps over the window, each dimming everything but one part and saying what it does.
Finishing it (Done) or ticking "Don't show the tour again" turns the `show_tour` setting off; Skip and Escape
leave it for the next start; Help ▸ Take the tour brings it back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QCheckBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .style import muted, title_font

HIGHLIGHT = "#2f80ed"
MARGIN = 6


@dataclass
class TourStep:
    title: str
    text: str
    target: Callable[[], QWidget | None]
    enter: Callable[[], None] | None = None      # bring the part on screen (select a model, show a panel)


class TourOverlay(QWidget):
    """Covers the window (so clicks go nowhere else while it shows); the bubble sits beside the target."""

    finished = Signal(bool)     # True: not on start again (Done reached, or "don't show again" ticked)

    def __init__(self, window: QWidget, steps: list[TourStep]):
        super().__init__(window)
        self.setObjectName("tourOverlay")
        self.window_ = window
        self.steps = steps
        self.index = 0
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.bubble = QFrame(self)
        self.bubble.setObjectName("tourBubble")
        # Opaque on every platform plugin: a style sheet with a border but no background leaves the frame
        # unpainted, and under X11 with no compositor its text lay over the page's text. The background is said
        # in the style sheet itself (autoFillBackground is ignored once a style sheet styles the frame).
        self.bubble.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.bubble.setAutoFillBackground(True)
        self.bubble.setFrameShape(QFrame.Shape.StyledPanel)
        self.bubble.setStyleSheet(f"#tourBubble {{ background-color: palette(window); "
                                  f"border: 2px solid {HIGHLIGHT}; border-radius: 8px; }}")
        self.bubble.setFixedWidth(380)
        lay = QVBoxLayout(self.bubble)
        lay.setContentsMargins(16, 12, 16, 12)
        self.counter = QLabel()
        muted(self.counter)
        self.title = QLabel()
        self.title.setFont(title_font(self.font(), 1.2))
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.dont_show = QCheckBox("Don't show the tour on start again")
        lay.addWidget(self.counter)
        lay.addWidget(self.title)
        lay.addWidget(self.text)
        lay.addSpacing(6)
        lay.addWidget(self.dont_show)
        row = QHBoxLayout()
        self.skip_button = QPushButton("Skip tour")
        self.back_button = QPushButton("Back")
        self.next_button = QPushButton("Next")
        self.next_button.setDefault(True)
        self.skip_button.clicked.connect(lambda: self.finish())
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        row.addWidget(self.skip_button)
        row.addStretch(1)
        row.addWidget(self.back_button)
        row.addWidget(self.next_button)
        lay.addLayout(row)
        window.installEventFilter(self)

    # -- steps ------------------------------------------------------------------------------
    def start(self) -> TourOverlay:
        self.setGeometry(self.window_.rect())
        self.show()
        self.raise_()
        self.go(0)
        self.setFocus()
        return self

    def go(self, index: int) -> None:
        self.index = max(0, min(index, len(self.steps) - 1))
        step = self.steps[self.index]
        if step.enter is not None:
            step.enter()
        self.counter.setText(f"Step {self.index + 1} of {len(self.steps)}")
        self.title.setText(step.title)
        self.text.setText(step.text)
        self.back_button.setEnabled(self.index > 0)
        last = self.index == len(self.steps) - 1
        self.next_button.setText("Done" if last else "Next")
        self.raise_()
        self._place()

    def next(self) -> None:
        if self.index >= len(self.steps) - 1:
            self.finish(completed=True)
        else:
            self.go(self.index + 1)

    def back(self) -> None:
        self.go(self.index - 1)

    def finish(self, completed: bool = False) -> None:
        self.window_.removeEventFilter(self)
        self.hide()
        self.finished.emit(completed or self.dont_show.isChecked())
        self.deleteLater()

    # -- drawing ----------------------------------------------------------------------------
    def target_rect(self) -> QRect | None:
        w = self.steps[self.index].target()
        if w is None or not w.isVisible():
            return None
        top_left = w.mapTo(self.window_, QPoint(0, 0))
        return QRect(top_left, w.size()).adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN).intersected(self.rect())

    def _place(self) -> None:
        self.bubble.adjustSize()
        b = self.bubble.size()
        area = self.rect().adjusted(12, 12, -12, -12)
        t = self.target_rect()
        if t is None:
            pos = QPoint(area.center().x() - b.width() // 2, area.center().y() - b.height() // 2)
        else:
            gap = 14
            candidates = [
                QPoint(t.right() + gap, t.top() + 20),                     # right of it
                QPoint(t.left() + 20, t.bottom() + gap),                   # below
                QPoint(t.left() - gap - b.width(), t.top() + 20),          # left of it
                QPoint(t.left() + 20, t.top() - gap - b.height()),         # above
            ]
            pos = next((p for p in candidates if area.contains(QRect(p, b))), None)
            if pos is None:  # a big target (the page area): inside it, near its top left
                pos = QPoint(t.left() + 40, t.top() + 40)
        pos.setX(max(area.left(), min(pos.x(), area.right() - b.width())))
        pos.setY(max(area.top(), min(pos.y(), area.bottom() - b.height())))
        self.bubble.move(pos)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        shade = QPainterPath()
        shade.addRect(QRectF(self.rect()))
        t = self.target_rect()
        if t is not None:
            hole = QPainterPath()
            hole.addRoundedRect(QRectF(t), 8, 8)
            shade = shade.subtracted(hole)
        p.fillPath(shade, QColor(0, 0, 0, 120))
        if t is not None:
            p.setPen(QPen(QColor(HIGHLIGHT), 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QRectF(t), 8, 8)
        p.end()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.window_ and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.window_.rect())
            self._place()
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Escape:
            self.finish()
        elif event.key() in (Qt.Key.Key_Right, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.next()
        elif event.key() == Qt.Key.Key_Left:
            self.back()
        else:
            super().keyPressEvent(event)


def window_steps(window: Any) -> list[TourStep]:
    """The tour of the main window: navigator, model page, Clone then Train, jobs panel, menus."""

    def show_sample_model() -> None:
        if window.client is None:
            return
        found = window.client.catalog.find_models(name="pretrained-resnet")
        if found and window.navigator.current_key() != ("model", found[0].id):
            window.navigate("model", found[0].id)

    def model_page() -> QWidget:
        page = window.pages.model_page
        return page if page is not None and window.pages.currentWidget() is page else window.pages

    def clone_button() -> QWidget | None:
        page = window.pages.model_page
        return getattr(page, "clone_button", None) if page is not None else None

    def show_jobs() -> None:
        if not window.jobs.isVisible():
            window.jobs_action.setChecked(True)
            window.jobs.setVisible(True)

    return [
        TourStep("The navigator",
                 "Everything in the catalog: projects, their datasets, packages and models. A clone shows under "
                 "the model it came from, and the dot beside a model is its status.",
                 lambda: window.navigator),
        TourStep("A model's page",
                 "Select a model to see its details, its configuration (hyper-parameters), artifacts and live "
                 "metric charts. <b>Clone…</b> makes a new version you can change and train.",
                 model_page, show_sample_model),
        TourStep("Clone, then train",
                 "A pre-trained built-in is a starting point, not something to train in place: <b>Clone…</b> "
                 "makes your own version (its dataset, hyper-parameters and labels). On the clone, <b>Train</b> "
                 "(Model ▸ Train, Ctrl+T) queues a job in its own process: the window stays responsive, and "
                 "closing it does not stop the job.",
                 clone_button, show_sample_model),
        TourStep("The jobs panel",
                 "Every job with its progress, time left and current metric. Select one to cancel or resume it, "
                 "or to read its log. View ▸ Jobs panel (Ctrl+J) hides it.",
                 lambda: window.jobs, show_jobs),
        TourStep("Menus",
                 "File: <b>New dataset…</b> brings your own images (a folder of images, COCO, YOLO, VOC or a "
                 "Dataloop export), open another catalog, add your own package, <b>Settings</b> and "
                 "<b>Housekeeping</b> (space used, backup, restore). Help: this tour again, the app log, About.",
                 lambda: window.menuBar()),
    ]


def start_tour(window: Any, on_finished: Callable[[bool], None] | None = None) -> TourOverlay:
    overlay = TourOverlay(window, window_steps(window))
    if on_finished is not None:
        overlay.finished.connect(on_finished)
    return overlay.start()
