"""Names in dataset files stay inside the dataset: importers neither read nor name files outside the import
folder, and exporters write nothing outside the export folder."""

from __future__ import annotations

import json

import pytest

from desktop_app.errors import FormatError, ValidationError
from desktop_app.formats import FORMATS, read_coco, read_dataloop, read_imagefolder, read_voc
from desktop_app.formats.base import Annotation, DatasetBundle, ImageEntry


def _coco(root, file_name, make_image):
    make_image(root / "images" / "a.png", 64, 48)
    doc = {"images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": file_name}],
           "annotations": [], "categories": [{"id": 1, "name": "cat"}]}
    (root / "annotations.json").write_text(json.dumps(doc))
    return root


def test_coco_absolute_file_name_outside_the_set_is_not_read(tmp_path, make_image):
    private = make_image(tmp_path / "home" / "private" / "photo.png", 64, 48)  # a real image elsewhere
    root = _coco(tmp_path / "set", str(private), make_image)
    with pytest.raises(FormatError, match="outside the dataset folders") as e:
        read_coco(root)
    assert e.value.file == str(root / "annotations.json") and e.value.entry == "image id 2"
    assert str(private) in str(e.value)


def test_coco_absolute_file_name_inside_the_set_still_reads(tmp_path, make_image):
    root = tmp_path / "set"
    inside = make_image(root / "images" / "sub" / "b.png", 64, 48)
    bundle = read_coco(_coco(root, str(inside), make_image))
    assert [it.name for it in bundle.items] == ["a.png", "b.png"] and bundle.items[1].source == inside
    crafted = str(root / "images" / ".." / ".." / "home" / "x.png")   # absolute, then out through '..'
    with pytest.raises(FormatError, match="outside the dataset folders"):
        read_coco(_coco(root, crafted, make_image))


@pytest.mark.parametrize("file_name, words", [
    ("../../etc/passwd", "inside the dataset"),
    ("images/../../../x.png", "inside the dataset"),
    ("..\\..\\x.png", "inside the dataset"),
    ("C:\\Windows\\x.png", "inside the dataset"),
    ("a\x00.png", "control character"),
    ("dir/\x1b]0;title\x07.png", "control character"),
    ("x" * 300 + ".png", "over 255 bytes"),
])
def test_coco_crafted_file_names_name_the_file_and_entry(tmp_path, make_image, file_name, words):
    root = _coco(tmp_path / "set", file_name, make_image)
    with pytest.raises(FormatError, match=words) as e:
        read_coco(root, check_images=False)
    assert e.value.file.endswith("annotations.json") and e.value.entry == "image id 2"


def test_voc_filename_cannot_lead_out(tmp_path, make_image):
    root = tmp_path / "voc"
    make_image(tmp_path / "outside.png", 64, 48)
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "Annotations" / "a.xml").write_text(
        "<annotation><filename>../../outside.png</filename><size><width>64</width><height>48</height></size>"
        "</annotation>")
    with pytest.raises(FormatError, match="inside the dataset") as e:
        read_voc(root)
    assert e.value.file == str(root / "Annotations" / "a.xml") and e.value.entry == "<filename>"
    (root / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a\tb.png</filename></annotation>")
    with pytest.raises(FormatError, match="control character"):
        read_voc(root, check_images=False)


@pytest.mark.parametrize("filename, words", [("/../../outside.png", "inside the dataset"),
                                             ("/dir/a\r.jpg", "control character")])
def test_dataloop_filename_cannot_lead_out(tmp_path, make_image, filename, words):
    root = tmp_path / "dl"
    make_image(tmp_path / "outside.png", 64, 48)
    (root / "json").mkdir(parents=True)
    (root / "items").mkdir()
    (root / "json" / "a.json").write_text(json.dumps({"filename": filename, "annotations": []}))
    with pytest.raises(FormatError, match=words) as e:
        read_dataloop(root, check_images=False)
    assert e.value.file == str(root / "json" / "a.json") and e.value.entry == "filename"


def test_a_file_whose_own_name_is_hostile_is_refused_at_import(tmp_path, make_image, catalog):
    root = tmp_path / "folder"
    make_image(root / "cat" / "ok.png")
    make_image(root / "cat" / "new\nline.png")
    bundle = read_imagefolder(root)
    p = catalog.create_project("p")
    ds = catalog.create_dataset(p.id, "d")
    with pytest.raises(FormatError, match=r"item name 'cat/new\\nline.png' holds the control character") as e:
        catalog.import_bundle(ds.id, bundle)
    assert e.value.file == str(root / "cat" / "new\nline.png")
    assert catalog.count_items(ds.id) == 0 and list(catalog.store.iter_shas()) == []


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", ["../escaped.png", "../../escaped.png", "/abs/escaped.png"])
def test_writers_refuse_names_that_lead_out_and_write_nothing(tmp_path, make_image, fmt, name):
    src = make_image(tmp_path / "src" / "a.png", 32, 24)
    ann = Annotation("class", "cat") if fmt == "imagefolder" else Annotation("box", "cat", [1, 1, 9, 9])
    good = ImageEntry(source=src, name="good.png", width=32, height=24, annotations=[ann])
    bad = ImageEntry(source=src, name=name, width=32, height=24, annotations=[ann])
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(ValidationError, match="item name") as e:
        FORMATS[fmt].write(DatasetBundle(labels=["cat"], items=[good, bad]), out)
    assert repr(name) in str(e.value)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == ["src/a.png"]
    FORMATS[fmt].write(DatasetBundle(labels=["cat"], items=[good]), out)
    assert any(p.name == "good.png" for p in out.rglob("*"))


def test_imagefolder_label_cannot_lead_out(tmp_path, make_image):
    src = make_image(tmp_path / "src" / "a.png", 32, 24)
    it = ImageEntry(source=src, name="a.png", width=32, height=24, annotations=[Annotation("class", "../../up")])
    with pytest.raises(ValidationError, match="'..' part"):
        FORMATS["imagefolder"].write(DatasetBundle(labels=["../../up"], items=[it]), tmp_path / "out")
    assert not (tmp_path / "up").exists() and not (tmp_path / "out").exists()
