"""A service loads its model's artifacts into its own folder and nowhere else, whatever their stored names."""

from __future__ import annotations

import pytest

from desktop_app.errors import ValidationError
from desktop_app.workflows.host import load_host

from servehelpers import make_model, push_brightbox, spot_image


def test_model_load_refuses_an_artifact_name_that_leads_out(dl, tmp_path):
    cat = dl.default_client().catalog
    model = make_model(dl, push_brightbox(dl, tmp_path), tmp_path)
    sha = model.artifacts.get("brightbox.json").sha256
    # As a catalog restored from someone else's backup may hold it: no upload lets this name in.
    cat._db.conn.execute("INSERT INTO artifacts (id, model_id, filename, sha256, size, created_at) "
                        "VALUES ('evil', ?, '../../../escaped.json', ?, 1, '')", (model.id, sha))
    cat._db.conn.commit()
    work = tmp_path / "services" / "svc.1"
    with pytest.raises(ValidationError, match=r"artifact name '\.\./\.\./\.\./escaped\.json'.*"):
        load_host(cat, model.id, work_dir=work)
    assert [p for p in tmp_path.rglob("escaped.json")] == []
    cat._db.conn.execute("DELETE FROM artifacts WHERE id = 'evil'")
    cat._db.conn.commit()
    host = load_host(cat, model.id, work_dir=work)
    assert host.predict([spot_image(4, 5)])[0][0].coordinates == [4.0, 5.0, 7.0, 8.0]
