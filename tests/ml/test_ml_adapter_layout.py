"""What a user's adapter receives in train(data_path, ...): a Dataloop adapter, reading Dataloop's layout, trains.

The adapter below is written the Dataloop way (dtlpy's prepare_data downloads each subset to
<data_path>/<subset>/items/<filename> and <data_path>/<subset>/json/<name>.json, one item JSON each, a box's
coordinates being [{x, y, z}, {x, y, z}]); it trains through the real path (model.train(): a job, its worker
process, the adapter's train_model -> prepare_data -> train) on four tiny images. No torch.
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest
from PIL import Image

ADAPTER = '''
"""A user's adapter, written as for Dataloop: it reads <data_path>/<subset>/json/*.json itself."""
import json
from pathlib import Path

from PIL import Image

import desktop_app.sdk as dl


class DataloopWayAdapter(dl.BaseModelAdapter):
    def load(self, local_path, **kwargs):
        self.seen = {}

    def save(self, local_path, **kwargs):
        Path(local_path, "seen.json").write_text(json.dumps(self.seen))

    def train(self, data_path, output_path, **kwargs):
        root = Path(data_path)
        files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        report = Path(self.configuration["report"])
        # What is on disk, before any of it is parsed (so a parse failure still tells what was there).
        report.write_text(json.dumps({"files": files}))
        seen = {"files": files, "items": {}}
        for subset in ("train", "validation"):
            for jf in sorted((root / subset / "json").rglob("*.json")):
                item = json.loads(jf.read_text())
                # Dataloop item filenames are absolute within the dataset: '/folder/name.png'.
                image = root / subset / "items" / item["filename"][1:]
                with Image.open(image) as im:
                    size = im.size
                boxes = []
                for ann in item["annotations"]:
                    if ann["type"] != "box":
                        continue
                    coords = ann["coordinates"]
                    boxes.append([ann["label"], coords[0]["x"], coords[0]["y"], coords[1]["x"], coords[1]["y"]])
                seen["items"][f"{subset}:{item['filename']}"] = {"json": jf.relative_to(root).as_posix(),
                                                                 "size": list(size), "boxes": boxes}
        self.seen = seen
        report.write_text(json.dumps(seen))
        kwargs["on_epoch_end_callback"](0, 1)

    def predict(self, batch, **kwargs):
        return [dl.AnnotationCollection() for _ in batch]
'''

# item name -> (subset, size, boxes as (label, left, top, right, bottom))
ITEMS = {
    "a.png": ("train", (40, 30), [("cat", 1, 2, 11, 12)]),
    "b.png": ("train", (32, 24), [("dog", 3, 4, 20, 22), ("cat", 0, 0, 5, 5)]),
    "c.png": ("validation", (16, 16), [("dog", 2, 2, 9, 14)]),
    "d.png": ("validation", (20, 10), [("cat", 10, 1, 19, 9)]),
}


def _png(size) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def trained(tmp_path):
    """(execution, report): the adapter pushed, a model of it trained on ITEMS through a worker process."""
    import desktop_app.sdk as dl   # a fresh catalog (tests/conftest.py's _isolated_home): no sample needed

    src = tmp_path / "pkg"
    src.mkdir()
    (src / "adapter.py").write_text(textwrap.dedent(ADAPTER))
    report = tmp_path / "seen.json"
    project = dl.projects.create(project_name="layout")
    dataset = project.datasets.create(dataset_name="boxes", labels=["cat", "dog"])
    for name, (subset, size, boxes) in ITEMS.items():
        item = dataset.items.upload(local_path=_png(size), remote_name=name, remote_path="/shots", subset=subset)
        builder = item.annotations.builder()
        for label, left, top, right, bottom in boxes:
            builder.add(annotation_definition=dl.Box(left=left, top=top, right=right, bottom=bottom, label=label))
        item.annotations.upload(builder)
    package = dl.packages.push(package_name="dataloop-way", src_path=src, entry_point="adapter.py",
                               output_type="box", default_configuration={"report": ""})
    model = package.models.create(model_name="dataloop-way-v1", dataset_id=dataset.id, project_id=project.id,
                                  labels=["cat", "dog"], configuration={"report": str(report)})
    execution = model.train()
    return execution, (json.loads(report.read_text()) if report.exists() else None)


def test_each_subset_has_items_and_one_json_per_item(trained):
    ex, report = trained
    assert report is not None, f"the adapter's train() never ran; job {ex.status}: {ex.logs()}"
    files = set(report["files"])
    for name, (subset, _, _) in ITEMS.items():
        assert f"{subset}/items/shots/{name}" in files
        stem = Path(name).stem
        # Dataloop names it json/<path>/<stem>.json (export V1) or .../<name>.json (export V2).
        assert ({f"{subset}/json/shots/{stem}.json", f"{subset}/json/shots/{name}.json"} & files), sorted(files)
    # Nothing of the test subset is laid out for training (the model's subsets are train and validation).
    assert not [f for f in files if f.startswith("test/")]


def test_a_dataloop_adapter_reads_filenames_and_box_coordinates_unchanged(trained):
    ex, report = trained
    assert ex.status == "success", ex.logs()
    expected = {f"{subset}:/shots/{name}": {"size": list(size), "boxes": [list(b) for b in boxes]}
                for name, (subset, size, boxes) in ITEMS.items()}
    got = {k: {"size": v["size"], "boxes": v["boxes"]} for k, v in report["items"].items()}
    assert got == expected
