"""Helpers for the review / compare / evaluation GUI tests: two variants of a deterministic box "model"
(tests/gui/review_oracle) evaluated in this process on the detection sample's test subset."""

from __future__ import annotations

from pathlib import Path

ORACLE_DIR = Path(__file__).resolve().parent / "review_oracle"
# Variant A: tight boxes, few misses. Variant B: looser boxes, more misses and confusions.
VARIANTS = {"oracle-a": {"seed": 1, "miss": 0.08, "confuse": 0.06, "jitter": 2.0, "spurious": 0.4},
            "oracle-b": {"seed": 2, "miss": 0.2, "confuse": 0.15, "jitter": 4.0, "spurious": 0.6}}


def oracle_package(client):
    try:
        return client.packages.get(package_name="review-oracle")
    except Exception:  # noqa: BLE001 - not pushed yet
        return client.packages.push(package_name="review-oracle", src_path=ORACLE_DIR, entry_point="adapter.py",
                                    class_name="ReviewOracleAdapter", output_type="box",
                                    default_configuration={"seed": 0})


def oracle_model(client, name: str = "oracle-a"):
    pkg = oracle_package(client)
    ds = client.datasets.get("shapes-detection")
    return pkg.models.create(model_name=name, dataset_id=ds.id, project_id=client.sample_project.id,
                             labels=ds.labels, configuration=dict(VARIANTS[name]))


def evaluate(client, model, subset: str = "test", name: str = "test"):
    """Predict and score in this process (no job queue); the stored evaluation as an EvaluationView."""
    from desktop_app.workflows.evaluate import evaluate_model
    from desktop_app.evaluation.store import EvaluationView
    ds = client.datasets.get("shapes-detection")
    out = evaluate_model(client.catalog, model.id, ds.id, filters={"subset": subset}, name=name)
    return EvaluationView(client.catalog, client.catalog.get_evaluation(out["evaluation_id"]))


def evaluated(client, name: str = "oracle-a"):
    return evaluate(client, oracle_model(client, name))
