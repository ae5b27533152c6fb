"""domain.mask_edit: brush / eraser strokes on a boolean mask and polygon vertex edits, with their refusals."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.domain import mask_edit as me
from desktop_app.domain import masks
from desktop_app.errors import ValidationError


def test_a_click_paints_a_disc_of_pixel_centres_within_the_radius():
    m = np.zeros((20, 20), bool)
    box = me.paint_stroke(m, (10, 10), (10, 10), 3)
    ys, xs = np.mgrid[0:20, 0:20]
    expect = (xs + 0.5 - 10) ** 2 + (ys + 0.5 - 10) ** 2 <= 9
    assert np.array_equal(m, expect)
    l, t, r, b = box
    assert not m[:t].any() and not m[b:].any() and not m[:, :l].any() and not m[:, r:].any()


def test_a_stroke_covers_the_capsule_along_its_segment_and_the_eraser_clears_it():
    m = np.zeros((30, 40), bool)
    me.paint_stroke(m, (5, 10), (30, 10), 2)
    assert m[10, 5:30].all() and m[8:12, 15].all() and not m[13, 15] and not m[10, 34]
    me.paint_stroke(m, (15, 0), (15, 29), 1.5, value=False)
    assert not m[:, 15].any() and m[10, 12] and m[10, 18]


def test_a_stroke_off_the_image_touches_nothing_and_edges_are_clipped():
    m = np.zeros((10, 10), bool)
    assert me.paint_stroke(m, (-50, -50), (-40, -40), 3) is None and not m.any()
    assert me.paint_stroke(m, (0, 0), (0, 0), 2) == (0, 0, 3, 3)
    assert m[0, 0] and m.sum() < 10


def test_erasing_a_mask_to_nothing_is_refused():
    before = np.zeros((8, 8), bool)
    before[2:4, 2:4] = True
    after = before.copy()
    me.paint_stroke(after, (3, 3), (3, 3), 4, value=False)
    assert "empty" in me.stroke_problem(before, after) and "delete" in me.stroke_problem(before, after)
    assert me.stroke_problem(np.zeros_like(before), before) is None


SQUARE = [[[10.0, 10.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0]]]


def test_vertex_move_insert_delete_give_new_rings_and_leave_the_old_alone():
    moved = me.move_vertex(SQUARE, 0, 2, (40, 35), 64, 64)
    assert moved[0][2] == [40.0, 35.0] and SQUARE[0][2] == [30.0, 30.0]
    clamped = me.move_vertex(SQUARE, 0, 2, (100, 35), 64, 48)
    assert clamped[0][2] == [64.0, 35.0]
    grown = me.insert_vertex(SQUARE, 0, 1, (35, 20), 64, 64)
    assert grown[0] == [[10, 10], [30, 10], [35, 20], [30, 30], [10, 30]]
    m0, m1 = masks.polygon_to_mask(SQUARE, 64, 64), masks.polygon_to_mask(grown, 64, 64)
    assert m1.sum() > m0.sum() and (m1 | m0).sum() == m1.sum()
    assert me.delete_vertex(grown, 0, 2, 64, 64) == SQUARE


def test_polygon_refusals_name_the_problem():
    with pytest.raises(ValidationError, match="at least 3"):
        me.delete_vertex(me.delete_vertex(SQUARE, 0, 1, 64, 64), 0, 1, 64, 64)
    with pytest.raises(ValidationError, match="cross itself"):
        me.move_vertex(SQUARE, 0, 0, (40, 20), 64, 64)          # a bow tie
    with pytest.raises(ValidationError, match="no area"):
        me.move_vertex([[[0, 0], [10, 0], [5, 5]]], 0, 2, (5, 0), 64, 64)
    assert "outside" in me.rings_problem([[[0, 0], [70, 0], [5, 5]]], 64, 64)
    with pytest.raises(ValidationError, match="ring 0 point 1"):
        me.as_rings([[[0, 0], "x", [1, 1]]])


def test_hit_tests_find_the_vertex_the_edge_and_the_inside():
    assert me.nearest_vertex(SQUARE, (31, 29), 2) == (0, 2)
    assert me.nearest_vertex(SQUARE, (20, 20), 2) is None
    ring, edge, (x, y) = me.nearest_edge(SQUARE, (31, 20), 2)
    assert (ring, edge) == (0, 1) and (x, y) == (30, 20)
    assert me.point_in_rings(SQUARE, (20, 20)) and not me.point_in_rings(SQUARE, (5, 20))
    assert me.clamp_radius(0) == 1 and me.clamp_radius(1000) == me.MAX_RADIUS
