"""COCO's greedy detection-to-ground-truth assignment, run for many independent groups at once."""

from __future__ import annotations

import numpy as np

_NONE = np.iinfo(np.int64).max


def greedy_match(det_key: np.ndarray, gt_key: np.ndarray, reusable: np.ndarray, n_gt_keys: int) -> np.ndarray:
    """Indices of the chosen candidate pairs, ascending.

    pycocotools walks detections in score order and gives each the best still-free ground truth, a
    Python loop per detection. Here every round settles, in all groups at once, each detection whose
    choice can no longer change: its preferred free ground truth is not a candidate of any earlier
    unsettled detection. The earliest unsettled detection of a group always qualifies, so the loop
    ends; on COCO-like data two rounds settle everything.

    Pairs must be sorted by (det_key, preference), the most preferred pair of a detection last;
    det_key orders detections as the sequential greedy would visit them (only its order within a
    group matters, and groups never share gt keys). `reusable` marks pairs whose ground truth is never
    used up (COCO crowds). Each detection gets at most one pair.
    """
    d = np.asarray(det_key, np.int64)
    g = np.asarray(gt_key, np.int64)
    r = np.asarray(reusable, bool)
    n = d.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    # A detection with a single candidate whose ground truth no other detection wants (or is reusable)
    # gets it whatever the order: on detection data that is nearly every pair. Only the rest need rounds.
    differs = d[1:] != d[:-1]            # pair i+1's detection is not pair i's
    single = np.ones(n, bool)
    single[1:] &= differs
    single[:-1] &= differs
    easy = single & ((np.bincount(g, minlength=n_gt_keys)[g] == 1) | r)
    if easy.all():
        return np.arange(n)
    rest = np.flatnonzero(~easy)
    easy[rest[_rounds(d[rest], g[rest], r[rest], n_gt_keys)]] = True
    return np.flatnonzero(easy)


def _rounds(d: np.ndarray, g: np.ndarray, r: np.ndarray, n_gt_keys: int) -> np.ndarray:
    alive = np.arange(d.shape[0])
    first = np.full(n_gt_keys, _NONE, np.int64)
    taken = np.zeros(n_gt_keys, bool)
    chosen = []
    while alive.shape[0]:
        last = np.empty(d.shape[0], bool)
        last[-1] = True
        np.not_equal(d[1:], d[:-1], out=last[:-1])
        prop = np.flatnonzero(last)
        # earliest detection still wanting each ground truth
        np.minimum.at(first, g, d)
        pg = g[prop]
        pr = r[prop]
        win = pr | (first[pg] == d[prop])
        first[g] = _NONE
        chosen.append(alive[prop[win]])
        taken[pg[win & ~pr]] = True
        seg = np.cumsum(last) - last
        keep = ~win[seg] & ~taken[g]
        alive, d, g, r = alive[keep], d[keep], g[keep], r[keep]
    if not chosen:
        return np.zeros(0, np.int64)
    return np.sort(np.concatenate(chosen))
