"""Pascal VOC specifics: the 1-based inclusive box convention and malformed XML / ImageSets."""

from __future__ import annotations

import pytest

from desktop_app.errors import FormatError
from desktop_app.formats import read_voc

XML = """<annotation>
  <filename>{fn}</filename>
  <size><width>60</width><height>40</height><depth>3</depth></size>
  <object><name>car</name><difficult>1</difficult><truncated>0</truncated><pose>Left</pose>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>60</xmax><ymax>40</ymax></bndbox></object>
  {more}
</annotation>"""


@pytest.fixture
def voc(tmp_path, make_image):
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    for stem in ("a", "b"):
        make_image(root / "JPEGImages" / f"{stem}.jpg", 60, 40)
        (root / "Annotations" / f"{stem}.xml").write_text(XML.format(fn=f"{stem}.jpg", more=""))
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("a\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("b\n")
    return root


def test_reads_voc(voc):
    b = read_voc(voc)
    a = b.items[0]
    assert (a.name, a.subset, b.items[1].subset) == ("a.jpg", "train", "validation")
    ann = a.annotations[0]
    assert ann.coordinates == [0, 0, 60, 40]  # xmin=1..xmax=60 covers the whole 60 px row
    assert ann.attributes == {"difficult": True, "pose": "Left"}


def _second_object(voc, obj: str) -> FormatError:
    (voc / "Annotations" / "b.xml").write_text(XML.format(fn="b.jpg", more=f"<object>{obj}</object>"))
    with pytest.raises(FormatError) as e:
        read_voc(voc)
    assert e.value.file.endswith("b.xml")
    return e.value


@pytest.mark.parametrize("obj, words", [
    ("<name>car</name>", "<bndbox> missing"),
    ("<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>", "<name> missing"),
    ("<name>car</name><bndbox><xmin>10</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>", "negative size"),
    ("<name>car</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>", "<xmin>"),
    ("<name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax></bndbox>", "<ymax> missing"),
    ("<name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>90</xmax><ymax>5</ymax></bndbox>", "outside"),
    ("<name>car</name><difficult>maybe</difficult>"
     "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>", "<difficult> must be 0 or 1"),
])
def test_bad_objects_name_object_index(voc, obj, words):
    e = _second_object(voc, obj)
    assert e.entry == "object 2" and words in str(e)


def test_invalid_xml(voc):
    (voc / "Annotations" / "b.xml").write_text("<annotation>\n<filename>b.jpg</filename>\n<object>\n</annotation>")
    with pytest.raises(FormatError, match="invalid XML") as e:
        read_voc(voc)
    assert e.value.file.endswith("b.xml") and e.value.entry == "line 4"


def test_missing_image(voc):
    (voc / "JPEGImages" / "b.jpg").unlink()
    with pytest.raises(FormatError, match="image file missing") as e:
        read_voc(voc)
    assert e.value.file.endswith("b.jpg")


def test_size_mismatch(voc, make_image):
    make_image(voc / "JPEGImages" / "b.jpg", 61, 40)
    with pytest.raises(FormatError, match="declared size 60x40 but the image file is 61x40"):
        read_voc(voc)


def test_duplicate_filenames(voc):
    (voc / "Annotations" / "b.xml").write_text(XML.format(fn="a.jpg", more=""))
    with pytest.raises(FormatError, match="duplicate file name 'a.jpg'"):
        read_voc(voc)


def test_imagesets_unknown_id_and_conflict(voc):
    (voc / "ImageSets" / "Main" / "val.txt").write_text("b\nzzz\n")
    with pytest.raises(FormatError, match="'zzz' has no Annotations") as e:
        read_voc(voc)
    assert e.value.file.endswith("val.txt") and e.value.entry == "line 2"
    (voc / "ImageSets" / "Main" / "val.txt").write_text("a\n")
    with pytest.raises(FormatError, match="in both train and validation"):
        read_voc(voc)


def test_no_annotations_folder(tmp_path):
    with pytest.raises(FormatError, match="no Annotations"):
        read_voc(tmp_path)


def test_missing_filename_tag_finds_the_image(voc, make_image):
    (voc / "JPEGImages" / "b.jpg").unlink()
    make_image(voc / "JPEGImages" / "b.png", 60, 40)
    (voc / "Annotations" / "b.xml").write_text(XML.format(fn="", more="").replace("<filename></filename>", ""))
    assert read_voc(voc).items[1].name == "b.png"
