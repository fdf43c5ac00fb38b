"""The face model benches measure the shipped graph itself: the op profiler's cut-out ops compute
what those ops compute inside the whole graph, the first-conv rewrite keeps every output, and
the model comparison scores a model as ``eval faces`` does."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from moodshuffle.evaluation import faces as eval_faces
from moodshuffle.paths import MODELS_DIR

pytestmark = pytest.mark.real

REPO = Path(__file__).resolve().parents[1]
SHIPPED = MODELS_DIR / "face_emotion.tflite"


def bench(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def built_in(**kw) -> Interpreter:
    # the built-in kernels keep every intermediate tensor readable (XNNPACK would fuse them away)
    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(num_threads=1, experimental_op_resolver_type=resolver, **kw)
    interp.allocate_tensors()
    return interp


def test_each_cut_out_op_computes_what_it_computes_inside_the_shipped_graph(shared_data):
    profile = bench("profile_face_ops")
    blob = SHIPPED.read_bytes()
    face = np.load(shared_data / "fer2013" / "fer2013_publictest.npz")["images"][7]
    whole = built_in(model_content=blob, experimental_preserve_all_tensors=True)
    inp = whole.get_input_details()[0]
    whole.set_tensor(inp["index"], (face.astype(np.int16) - 128).astype(np.int8)[None, :, :, None])
    whole.invoke()
    ops = profile.single_op_models(profile.fb.read_model_from_bytearray(bytearray(blob)))
    assert [name for name, _, _ in ops] == [op["op_name"] for op in whole._get_ops_details()]
    assert sum(name == "CONV_2D" for name, _, _ in ops) == 28
    for name, _, one in ops:
        alone = built_in(model_content=one)
        for detail in alone.get_input_details():  # the cut-out model keeps the graph's tensor indices
            alone.set_tensor(detail["index"], whole.get_tensor(detail["index"]))
        alone.invoke()
        for detail in alone.get_output_details():
            np.testing.assert_array_equal(alone.get_tensor(detail["index"]), whole.get_tensor(detail["index"]),
                                          err_msg=name)


def test_model_comparison_scores_as_eval_faces_and_a_model_against_itself_differs_by_nothing(
        shared_data, tmp_path, monkeypatch, capsys):
    data = np.load(shared_data / "fer2013" / "fer2013_publictest.npz")
    subset = tmp_path / "faces.npz"
    np.savez(subset, images=data["images"][:120], labels=data["labels"][:120], classes=data["classes"])
    expected = eval_faces.main(subset, SHIPPED)
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["compare", str(SHIPPED), str(SHIPPED), "--data", str(subset)])
    bench("compare_face_models").main()
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    reference, again = result["models"]
    assert reference["accuracy"] == expected["accuracy"]
    assert reference["per_class_recall"] == expected["per_class_recall"]
    lo, hi = reference["accuracy_ci95"]
    assert lo < reference["accuracy"] < hi
    assert again["diff_to_reference"] == 0 and again["diff_ci95"] == [0, 0]
    assert again["same_class_as_reference"] == 1 and again["max_abs_prob_diff"] == 0


def test_first_conv_im2col_rewrite_keeps_every_output_of_the_shipped_graph(shared_data):
    im2col = bench("face_first_conv_im2col")
    original = SHIPPED.read_bytes()
    model = im2col.fb.read_model_from_bytearray(bytearray(original))
    assert im2col.rewrite(model) == 4  # one first conv per view
    rewritten = bytes(im2col.fb.convert_object_to_bytearray(model))
    faces = np.load(shared_data / "fer2013" / "fer2013_publictest.npz")["images"][:40]
    for xnnpack in (False, True):
        before, after = im2col.outputs(original, faces, xnnpack), im2col.outputs(rewritten, faces, xnnpack)
        assert len(np.unique(before.argmax(1))) > 1  # real faces, not one constant answer
        np.testing.assert_array_equal(after, before)
