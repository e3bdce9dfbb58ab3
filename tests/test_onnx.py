"""genrekit.inference.onnx: networks on ONNX Runtime, and classifiers read back from exported files."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.errors import GenrekitError
from genrekit.export import export_onnx
from genrekit.inference import load_model, read_metadata
from genrekit.inference.onnx import OnnxScorer


def test_onnx_backend_of_load_model_matches_torch(coarse_run, coarse_model):
    db = np.random.default_rng(0).uniform(-80, 0, (coarse_model.spec.bands, 200)).astype(np.float32)
    onnx_model = load_model(coarse_run, backend="onnx")
    np.testing.assert_allclose(onnx_model.predict_spectrogram(db), coarse_model.predict_spectrogram(db), atol=1e-5)


def test_files_that_are_not_genrekit_onnx_models_are_named(tmp_path, coarse_model):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    with pytest.raises(GenrekitError, match="junk.onnx: not an ONNX model"):
        load_model(junk)
    import onnx

    plain = tmp_path / "plain.onnx"
    model = onnx.load_from_string(export_onnx(coarse_model, tmp_path / "full.onnx").read_bytes())
    del model.metadata_props[:]
    plain.write_bytes(model.SerializeToString())
    with pytest.raises(GenrekitError, match="plain.onnx: an ONNX model without genrekit metadata.*genrekit export"):
        load_model(plain)


def test_the_stored_rule_is_read_back_and_can_be_overridden(coarse_model, tmp_path):
    path = export_onnx(coarse_model, tmp_path / "model.onnx")
    assert read_metadata(path)["rule"] == coarse_model.rule
    assert load_model(path).rule == coarse_model.rule
    assert load_model(path, rule="geomean").rule == "geomean"
    assert isinstance(load_model(path).scorer, OnnxScorer)
