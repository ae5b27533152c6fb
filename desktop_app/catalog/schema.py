"""Catalog schema as forward migrations; the version lives in PRAGMA user_version."""

from __future__ import annotations

import sqlite3
from typing import Callable

_V1 = """
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE packages (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'builtin',
    version TEXT NOT NULL DEFAULT '1.0.0',
    description TEXT NOT NULL DEFAULT '',
    entry_point TEXT,
    class_name TEXT,
    codebase_sha TEXT,
    default_configuration TEXT NOT NULL DEFAULT '{}',
    hyperparameters TEXT NOT NULL DEFAULT '[]',
    input_type TEXT NOT NULL DEFAULT 'image',
    output_type TEXT NOT NULL DEFAULT 'class',
    created_at TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '[]',
    label_colors TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (project_id, name)
);
CREATE TABLE models (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    package_id TEXT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'created',
    configuration TEXT NOT NULL DEFAULT '{}',
    labels TEXT NOT NULL DEFAULT '[]',
    input_type TEXT NOT NULL DEFAULT 'image',
    output_type TEXT NOT NULL DEFAULT 'class',
    dataset_id TEXT REFERENCES datasets(id) ON DELETE SET NULL,
    train_filter TEXT,
    validation_filter TEXT,
    parent_id TEXT REFERENCES models(id) ON DELETE SET NULL,
    scope TEXT NOT NULL DEFAULT 'project',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (project_id, name)
);
CREATE INDEX idx_models_package ON models(package_id);
CREATE INDEX idx_models_parent ON models(parent_id);
CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (model_id, filename)
);
CREATE INDEX idx_artifacts_sha ON artifacts(sha256);
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sha256 TEXT,
    mimetype TEXT,
    width INTEGER,
    height INTEGER,
    subset TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (dataset_id, name)
);
CREATE INDEX idx_items_subset ON items(dataset_id, subset);
CREATE INDEX idx_items_sha ON items(sha256);
CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    dataset_id TEXT NOT NULL,
    type TEXT NOT NULL,
    label TEXT NOT NULL,
    left REAL, top REAL, right REAL, bottom REAL,
    coordinates TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    model_id TEXT,
    model_name TEXT,
    score REAL,
    iscrowd INTEGER NOT NULL DEFAULT 0,
    area REAL,
    metadata TEXT NOT NULL DEFAULT '{}',
    creator TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_ann_item ON annotations(item_id);
-- covering index for "items with an annotation of label X above confidence Y"
CREATE INDEX idx_ann_label_score ON annotations(dataset_id, label, score, item_id);
CREATE INDEX idx_ann_model ON annotations(model_id, item_id);
CREATE TABLE metrics (
    id INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    figure TEXT NOT NULL,
    legend TEXT NOT NULL,
    x REAL NOT NULL,
    y REAL NOT NULL,
    wall_time REAL,
    epoch REAL,
    dataset_id TEXT,
    execution_id TEXT
);
CREATE INDEX idx_metrics_model ON metrics(model_id, figure, legend, x);
CREATE TABLE executions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'created',
    model_id TEXT REFERENCES models(id) ON DELETE CASCADE,
    project_id TEXT,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    log_path TEXT,
    pid INTEGER,
    device TEXT,
    input TEXT NOT NULL DEFAULT '{}',
    output TEXT NOT NULL DEFAULT '{}',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    heartbeat_at TEXT
);
CREATE INDEX idx_exec_model ON executions(model_id);
CREATE INDEX idx_exec_status ON executions(status);
CREATE TABLE evaluations (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    method TEXT NOT NULL DEFAULT 'coco',
    filter TEXT,
    iou_thresholds TEXT NOT NULL DEFAULT '[]',
    conf_threshold REAL NOT NULL DEFAULT 0,
    weights_sha TEXT,
    results TEXT NOT NULL DEFAULT '{}',
    cache_sha TEXT,
    execution_id TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (model_id, name)
);
CREATE TABLE services (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'starting',
    url TEXT,
    host TEXT NOT NULL DEFAULT '127.0.0.1',
    port INTEGER,
    pid INTEGER,
    config TEXT NOT NULL DEFAULT '{}',
    started_at TEXT NOT NULL,
    stopped_at TEXT
);
CREATE TABLE pipelines (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'idle',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, name)
);
"""

# v2: review (who changed which annotation, reviewed items), model aliases with their history,
# pipeline runs.
_V2 = """
ALTER TABLE items ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE annotation_changes (
    id INTEGER PRIMARY KEY,
    annotation_id INTEGER,
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    before TEXT,
    after TEXT,
    who TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX idx_changes_item ON annotation_changes(item_id);
CREATE INDEX idx_changes_at ON annotation_changes(at);
CREATE TABLE model_aliases (
    package_id TEXT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    set_at TEXT NOT NULL,
    set_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (package_id, alias)
);
CREATE TABLE alias_history (
    id INTEGER PRIMARY KEY,
    package_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    model_id TEXT NOT NULL,
    previous_model_id TEXT,
    set_at TEXT NOT NULL,
    set_by TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE pipeline_runs (
    id TEXT PRIMARY KEY,
    pipeline_id TEXT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'created',
    trigger TEXT NOT NULL DEFAULT 'manual',
    steps TEXT NOT NULL DEFAULT '[]',
    details TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX idx_runs_pipeline ON pipeline_runs(pipeline_id);
"""


# v3: galleries page through a dataset by id; without this index every page sorts the whole dataset.
_V3 = """
CREATE INDEX idx_items_dataset_id ON items(dataset_id, id);
"""

# v4: an evaluation keeps the IoU threshold it was scored at (re-scoring uses it); older ones were scored at 0.5.
_V4 = """
ALTER TABLE evaluations ADD COLUMN iou_threshold REAL NOT NULL DEFAULT 0.5;
"""

# v5: a package keeps every version of its code (pushing an existing name adds 1.0.1, 1.0.2, ...); the packages
# row holds the current one. A model stays on the version it was made with until moved (models.package_version).
_V5 = """
CREATE TABLE package_revisions (
    package_id TEXT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    entry_point TEXT,
    class_name TEXT,
    codebase_sha TEXT,
    default_configuration TEXT NOT NULL DEFAULT '{}',
    hyperparameters TEXT NOT NULL DEFAULT '[]',
    input_type TEXT NOT NULL DEFAULT 'image',
    output_type TEXT NOT NULL DEFAULT 'class',
    created_at TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (package_id, version)
);
INSERT INTO package_revisions (package_id, version, description, entry_point, class_name, codebase_sha,
                               default_configuration, hyperparameters, input_type, output_type, created_at, metadata)
    SELECT id, version, description, entry_point, class_name, codebase_sha, default_configuration, hyperparameters,
           input_type, output_type, created_at, metadata FROM packages;
ALTER TABLE models ADD COLUMN package_version TEXT;
UPDATE models SET package_version = (SELECT version FROM packages WHERE packages.id = models.package_id)
"""


# v6: finding the best model (issue 19). metric_summary keeps each model's latest / min / max per metric key
# ('<legend>/<figure>', as the jobs panel shows it) so searching 10,000 models never scans their points; it is
# maintained by add_metric_samples / delete_metrics (runs.py). Named dataset versions (content-addressed blobs of
# items and annotations), sweeps, and on models: free-text notes, the sweep a model belongs to, and the dataset
# version it last trained on (evaluations keep the version they scored).
_V6 = """
CREATE TABLE metric_summary (
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    figure TEXT NOT NULL,
    legend TEXT NOT NULL,
    last REAL,
    last_x REAL,
    min REAL,
    max REAL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (model_id, key)
);
-- a search's metric condition is a range scan: latest, best-high, best-low
CREATE INDEX idx_metric_summary_last ON metric_summary(key, last, model_id);
CREATE INDEX idx_metric_summary_max ON metric_summary(key, max, model_id);
CREATE INDEX idx_metric_summary_min ON metric_summary(key, min, model_id);
INSERT INTO metric_summary (model_id, key, figure, legend, last, last_x, min, max, count)
    SELECT m.model_id, m.legend || '/' || m.figure, m.figure, m.legend,
           (SELECT y FROM metrics l WHERE l.model_id = m.model_id AND l.figure = m.figure AND l.legend = m.legend
            ORDER BY l.x DESC, l.id DESC LIMIT 1),
           MAX(m.x), MIN(m.y), MAX(m.y), COUNT(*)
    FROM metrics m GROUP BY m.model_id, m.figure, m.legend;
CREATE TABLE dataset_versions (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sha TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    counts TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    UNIQUE (dataset_id, name)
);
-- the images a version holds: kept by garbage collection while the version exists, after the items are gone
CREATE TABLE dataset_version_images (
    version_id TEXT NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    PRIMARY KEY (version_id, sha)
);
CREATE TABLE sweeps (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    base_model_id TEXT REFERENCES models(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    method TEXT NOT NULL DEFAULT 'grid',
    space TEXT NOT NULL DEFAULT '{}',
    objective TEXT,
    direction TEXT NOT NULL DEFAULT 'maximize',
    budget INTEGER,
    status TEXT NOT NULL DEFAULT 'created',
    created_at TEXT NOT NULL,
    finished_at TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (project_id, name)
);
ALTER TABLE models ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE models ADD COLUMN sweep_id TEXT REFERENCES sweeps(id) ON DELETE SET NULL;
ALTER TABLE models ADD COLUMN data_version TEXT;
ALTER TABLE evaluations ADD COLUMN data_version TEXT;
CREATE INDEX idx_models_sweep ON models(sweep_id)
"""

# Embeddings: one feature set per model (catalog.feature_sets), its vectors in the store as two .npy files
# (float32 count x size, int64 item ids), replaced by new files when items are added; weights_sha says which
# weights made them (a model whose artifacts changed has a stale set, dropped at its next read or embed).
_V7 = """
CREATE TABLE feature_sets (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    weights_sha TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    count INTEGER NOT NULL DEFAULT 0,
    sha TEXT,
    ids_sha TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (model_id)
);
CREATE INDEX idx_feature_sets_project ON feature_sets(project_id)
"""


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(statement)
    return run


# MIGRATIONS[i] takes a database at version i to version i + 1.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_script(_V1), _script(_V2), _script(_V3),
                                                      _script(_V4), _script(_V5), _script(_V6), _script(_V7)]
SCHEMA_VERSION = len(MIGRATIONS)


# Every column that names a file of the store by its sha256, as a query of (row id, sha) pairs. Garbage
# collection keeps these files; doctor and restore check that each is well formed and present.
STORE_REFERENCES: dict[str, str] = {
    "items.sha256": "SELECT id, sha256 FROM items WHERE sha256 IS NOT NULL",
    "artifacts.sha256": "SELECT id, sha256 FROM artifacts",
    "packages.codebase_sha": "SELECT id, codebase_sha FROM packages WHERE codebase_sha IS NOT NULL",
    # Older versions of a package's code: models on them still load it.
    "package_revisions.codebase_sha": "SELECT package_id || '@' || version, codebase_sha FROM package_revisions "
                                      "WHERE codebase_sha IS NOT NULL",
    "evaluations.cache_sha": "SELECT id, cache_sha FROM evaluations WHERE cache_sha IS NOT NULL",
    # Named dataset versions: the frozen items and annotations.
    "dataset_versions.sha": "SELECT id, sha FROM dataset_versions",
    "dataset_version_images.sha": "SELECT version_id, sha FROM dataset_version_images",
    # Pipeline runs keep the frozen snapshot of the data they used.
    "pipeline_runs.details.snapshot.sha": "SELECT id, json_extract(details, '$.snapshot.sha') FROM pipeline_runs "
                                          "WHERE json_valid(details) AND json_extract(details, '$.snapshot.sha') "
                                          "IS NOT NULL",
    # A model's embeddings: the vectors and the item ids they belong to.
    "feature_sets.sha": "SELECT id, sha FROM feature_sets WHERE sha IS NOT NULL",
    "feature_sets.ids_sha": "SELECT id, ids_sha FROM feature_sets WHERE ids_sha IS NOT NULL",
}


def user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Run forward migrations in one transaction each; returns (from_version, to_version)."""
    start = user_version(conn)
    for version in range(start, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            if user_version(conn) > version:
                conn.execute("COMMIT")
                continue
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return start, max(start, target)
