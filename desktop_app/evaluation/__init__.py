"""Evaluation: COCO-exact detection metrics, per-instance matching, live thresholds, classification metrics."""
