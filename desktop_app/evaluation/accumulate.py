"""pycocotools' accumulate(): precision/recall tables from match flags, computed from the true positives alone."""

from __future__ import annotations

import numpy as np

from desktop_app.evaluation._arrays import segment_starts, segmented_suffix_max, stable_argsort_int


def accumulate(det: dict, g: dict, matches: dict, n_cat: int, iou_thresholds, recall_thresholds,
               area_ranges, max_dets) -> dict:
    """{'precision': [T,R,K,A,M], 'recall': [T,K,A,M], 'scores': [T,R,K,A,M]} as pycocotools' eval dict.

    pycocotools builds, per (IoU, category, area, maxDets), the cumulative TP/FP curve over every
    detection and reads the precision envelope at 101 recall points. Only the true positives matter:
    recall moves only there and precision between two of them only falls, so the envelope at a recall
    point is the best precision at or after the true positive that reaches it. With the count of false
    positives before each true positive (from prefix counts) all tables take a few array passes.
    """
    T, K, A, M = len(iou_thresholds), n_cat, len(area_ranges), len(max_dets)
    nd = det["src"].shape[0]
    cat, rank, area, score = det["cat"], det["rank"], det["area"], det["score"]
    cat_start = np.searchsorted(cat, np.arange(K + 1))
    in_range = np.stack([~((area < lo) | (area > hi)) for lo, hi in area_ranges])  # [A, nd]
    npig = np.stack([np.bincount(g["cat"][~ig], minlength=K) for ig in matches["ignored"]], axis=1)  # [K, A]

    combo, mb, gi = matches["combo"], matches["b"], matches["gt_ignored"]
    ma = combo % A
    mk = cat[mb]
    seg = combo * K + mk  # sorted: matches come ordered by (combo, position) and positions by category
    starts = segment_starts(seg)
    first = np.repeat(starts, np.diff(np.append(starts, seg.shape[0])))  # first entry of each entry's segment
    in_range_m = in_range[ma, mb]
    at_pos = ma * (nd + 1) + mb  # flat indices into the [A, nd + 1] prefix counts
    at_cat = ma * (nd + 1) + cat_start[mk]
    segs, prs, scs = [], [], []
    first_score = np.zeros((M, K))
    has_det = np.zeros((M, K), bool)
    for m, md in enumerate(max_dets):
        live_all = rank < md
        # how many detections before each position would be false positives if unmatched
        before = np.zeros((A, nd + 1), np.int64)
        np.cumsum(in_range & live_all, axis=1, out=before[:, 1:])
        before = before.reshape(-1)
        live = live_all[mb]
        tp = live & ~gi
        w = live & in_range_m
        cw = np.cumsum(w)
        fp = before[at_pos] - before[at_cat] - (cw - w - (cw[first] - w[first]))
        ct = np.cumsum(tp)
        j = ct - (ct[first] - tp[first])
        tp_f, fp_f = j[tp].astype(np.float64), fp[tp].astype(np.float64)
        prs.append(tp_f / (fp_f + tp_f + np.spacing(1)))
        segs.append(seg[tp] + (combo[tp] * (M - 1) + m) * K)  # (combo * M + m) * K + k
        scs.append(score[mb[tp]])
        # pycocotools reports the top detection's score at recall 0
        idx = np.flatnonzero(live_all)
        pos = np.searchsorted(cat[idx], np.arange(K))
        ok = pos < idx.shape[0]
        ok[ok] = cat[idx[pos[ok]]] == np.arange(K)[ok]
        has_det[m] = ok
        first_score[m, ok] = score[idx[pos[ok]]]

    n_seg = T * A * M * K
    seg_all = np.concatenate(segs)
    o = stable_argsort_int(seg_all, n_seg)
    pr, sc = np.concatenate(prs)[o], np.concatenate(scs)[o]
    n_tp = np.bincount(seg_all, minlength=n_seg)
    start = np.cumsum(n_tp) - n_tp
    env = segmented_suffix_max(pr, start, n_tp)

    need = _tp_needed(npig, np.asarray(recall_thresholds))  # [K, A, R]
    need = need.transpose(1, 0, 2)[None, :, None, :, :]  # [1, A, 1, K, R]
    n_tp = n_tp.reshape(T, A, M, K)
    valid = n_tp[..., None] >= np.maximum(need, 1)
    pos = np.where(valid, start.reshape(T, A, M, K)[..., None] + np.maximum(need - 1, 0), 0)
    q = np.where(valid, env[pos] if env.shape[0] else 0.0, 0.0)
    ss = np.where(valid, sc[pos] if sc.shape[0] else 0.0, 0.0)
    top = np.where(has_det, first_score, 0.0)[None, None, :, :, None]  # [1,1,M,K,1]
    ss = np.where(need == 0, top, ss)

    absent = (npig == 0).T[None, :, None, :, None]  # [1, A, 1, K, 1]
    q = np.where(absent, -1.0, q)
    ss = np.where(absent, -1.0, ss)
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = n_tp / npig.T[None, :, None, :]
    rec = np.where(absent[..., 0], -1.0, rec)
    return {
        "precision": np.ascontiguousarray(q.transpose(0, 4, 3, 1, 2)),
        "recall": np.ascontiguousarray(rec.transpose(0, 3, 1, 2)),
        "scores": np.ascontiguousarray(ss.transpose(0, 4, 3, 1, 2)),
    }


def _tp_needed(npig: np.ndarray, recall_thresholds: np.ndarray) -> np.ndarray:
    """Smallest TP count c with c / npig >= r, in the float arithmetic of pycocotools' searchsorted."""
    n = np.maximum(npig, 1)[..., None].astype(np.float64)
    r = recall_thresholds[None, None, :]
    c = np.ceil(r * n)
    for _ in range(4):  # ceil can be one off either way after rounding; settle it exactly
        down = (c >= 1) & ((c - 1) / n >= r)
        up = c / n < r
        if not (down.any() or up.any()):
            break
        c = c - down + up
    return c.astype(np.int64)
