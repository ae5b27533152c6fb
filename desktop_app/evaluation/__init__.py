"""Evaluation: COCO-exact detection metrics, per-instance matching, live thresholds, classification metrics.
Uses: catalog, domain, settings, errors."""
