"""Undoable fixes to ground truth (QUndoCommand over catalog calls): accept, delete, relabel, move / resize, draw
a box or give a class (AddAnnotation), repaint a mask or edit a polygon's vertices (EditShape), and the label-next
queue's "labelled" mark (MarkLabelled).

Every redo and undo is one catalog call, saved at once; the catalog records who, when and the previous
value (annotation_changes) and marks the item reviewed. `on_change(item_id)` tells the screen to redraw.
"""

from __future__ import annotations

import getpass
from typing import Any, Callable

from PySide6.QtGui import QUndoCommand

from desktop_app.catalog import AnnotationRecord
from desktop_app.evaluation.review import annotation_snapshot
from desktop_app.formats.base import Annotation

Changed = Callable[[int], None]


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (some containers): still record something
        return "user"


def review_mark(item: Any) -> dict | None:
    """An item record's review mark ({by, at, via, model_id?}) from the label-next queue, None if unmarked."""
    from desktop_app.workflows.labeling import review_mark as mark
    return mark(item)


class _CatalogCommand(QUndoCommand):
    def __init__(self, catalog: Any, text: str, item_id: int, who: str, on_change: Changed | None):
        super().__init__(text)
        self.catalog = catalog
        self.item_id = item_id
        self.who = who or current_user()
        self.on_change = on_change
        self._was_reviewed = bool(catalog.get_item(item_id).reviewed)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.item_id)

    def _mark_reviewed(self) -> None:
        self.catalog.update_item(self.item_id, reviewed=1)

    def _restore_reviewed(self) -> None:
        if not self._was_reviewed:
            self.catalog.update_item(self.item_id, reviewed=0)


class DeleteAnnotation(_CatalogCommand):
    def __init__(self, catalog: Any, annotation: AnnotationRecord, *, who: str = "", on_change: Changed | None = None):
        super().__init__(catalog, f"delete {annotation.label}", annotation.item_id, who, on_change)
        self.annotation_id = annotation.id
        self._snapshot = annotation_snapshot(annotation)

    def redo(self) -> None:
        self._snapshot = annotation_snapshot(self.catalog.delete_annotation(self.annotation_id, who=self.who))
        self._changed()

    def undo(self) -> None:
        self.catalog.restore_annotation(self._snapshot, who=self.who)
        self._restore_reviewed()
        self._changed()


class RelabelAnnotation(_CatalogCommand):
    def __init__(self, catalog: Any, annotation: AnnotationRecord, label: str, *, who: str = "",
                 on_change: Changed | None = None):
        super().__init__(catalog, f"relabel {annotation.label} as {label}", annotation.item_id, who, on_change)
        self.annotation_id = annotation.id
        self.old, self.new = annotation.label, label

    def redo(self) -> None:
        self.catalog.update_annotation(self.annotation_id, who=self.who, label=self.new)
        self._changed()

    def undo(self) -> None:
        self.catalog.update_annotation(self.annotation_id, who=self.who, label=self.old)
        self._restore_reviewed()
        self._changed()


class EditShape(_CatalogCommand):
    """A mask repainted (brush / eraser: the new RLE) or a polygon's vertices edited (the new rings): the old and
    new coordinates whole, so undo puts back exactly what was stored."""

    def __init__(self, catalog: Any, annotation: AnnotationRecord, old: Any, new: Any, *, text: str = "",
                 who: str = "", on_change: Changed | None = None):
        super().__init__(catalog, text or f"edit {annotation.label}", annotation.item_id, who, on_change)
        self.annotation_id = annotation.id
        self.old, self.new = old, new

    def redo(self) -> None:
        self.catalog.update_annotation(self.annotation_id, who=self.who, coordinates=self.new)
        self._changed()

    def undo(self) -> None:
        self.catalog.update_annotation(self.annotation_id, who=self.who, coordinates=self.old)
        self._restore_reviewed()
        self._changed()


class MoveAnnotation(EditShape):
    """Move or resize a box: new [left, top, right, bottom]."""

    def __init__(self, catalog: Any, annotation: AnnotationRecord, old: list[float], new: list[float], *,
                 who: str = "", on_change: Changed | None = None):
        what = "resize" if abs((new[2] - new[0]) - (old[2] - old[0])) > 0.01 or \
            abs((new[3] - new[1]) - (old[3] - old[1])) > 0.01 else "move"
        super().__init__(catalog, annotation, [float(v) for v in old], [float(v) for v in new],
                         text=f"{what} {annotation.label}", who=who, on_change=on_change)


class AddAnnotation(_CatalogCommand):
    """A new ground-truth annotation the person made: a box drawn, or a class given to an image."""

    def __init__(self, catalog: Any, item_id: int, annotation: Annotation, *, who: str = "",
                 on_change: Changed | None = None, text: str | None = None):
        super().__init__(catalog, text or f"{'draw' if annotation.type == 'box' else 'label'} {annotation.label}",
                         item_id, who, on_change)
        self.annotation = annotation
        self.created_id: int | None = None
        self._snapshot: dict | None = None

    def redo(self) -> None:
        if self._snapshot is None:
            self.created_id = self.catalog.add_annotations(self.item_id, [self.annotation], creator=self.who,
                                                           record_change=True)[0]
            self._snapshot = annotation_snapshot(self.catalog.get_annotation(self.created_id))
        else:   # the same annotation, with the same id (later commands refer to it)
            self.catalog.restore_annotation(self._snapshot, who=self.who)
        self._mark_reviewed()
        self._changed()

    def undo(self) -> None:
        self.catalog.delete_annotation(self.created_id, who=self.who)
        self._restore_reviewed()
        self._changed()


class AcceptPrediction(AddAnnotation):
    """A prediction becomes ground truth (a new annotation; the prediction itself stays)."""

    def __init__(self, catalog: Any, prediction: AnnotationRecord, *, who: str = "", on_change: Changed | None = None):
        p = prediction
        ann = Annotation(type=p.type, label=p.label, coordinates=p.compact_coordinates(),
                         attributes=dict(p.attributes), metadata={"accepted_from": p.id})
        super().__init__(catalog, p.item_id, ann, who=who, on_change=on_change, text=f"accept {p.label}")
        self.prediction = prediction


class MarkLabelled(QUndoCommand):
    """The item is labelled in the label-next queue: reviewed, by whom and when (workflows.labeling.mark_reviewed);
    undo puts its metadata and reviewed flag back."""

    def __init__(self, catalog: Any, item_id: int, *, who: str = "", model_id: str | None = None,
                 on_change: Changed | None = None):
        super().__init__("mark labelled")
        self.catalog, self.item_id, self.model_id, self.on_change = catalog, item_id, model_id, on_change
        self.who = who or current_user()
        self._before: dict | None = None

    def redo(self) -> None:
        from desktop_app.workflows.labeling import mark_reviewed
        self._before = mark_reviewed(self.catalog, self.item_id, who=self.who, model_id=self.model_id)
        if self.on_change is not None:
            self.on_change(self.item_id)

    def undo(self) -> None:
        from desktop_app.workflows.labeling import restore_review
        if self._before is not None:
            restore_review(self.catalog, self.item_id, self._before)
        if self.on_change is not None:
            self.on_change(self.item_id)
