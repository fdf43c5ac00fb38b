"""An output-preserving rewrite of the face model's first convolution, to time it (not shipped).

    .venv/bin/python bench/face_first_conv_im2col.py OUT.tflite [--model PATH]
    .venv/bin/python bench/profile_face_ops.py --model OUT.tflite

The first conv of the face network (3x3 on the single grey channel) is the one op XNNPACK runs
slowly on AVX2 (models/face_emotion.md, "Cost per face"). Each such conv becomes PAD (the
input's zero point, as SAME padding pads) -> nine STRIDED_SLICE taps -> CONCATENATION into
48x48x9 -> 1x1 CONV_2D with the same int8 kernel, scales, bias and activation, so the int32 sums
and therefore the outputs are unchanged (printed: the largest output difference over 500
PublicTest faces, on the built-in kernels and on XNNPACK).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))

import numpy as np  # noqa: E402
from ai_edge_litert import schema_py_generated as schema  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402
from ai_edge_litert.tools import flatbuffer_utils as fb  # noqa: E402

OP = schema.BuiltinOperator
OPTIONS = {OP.PAD: (schema.BuiltinOptions.PadOptions, schema.PadOptionsT),
           OP.STRIDED_SLICE: (schema.BuiltinOptions.StridedSliceOptions, schema.StridedSliceOptionsT),
           OP.CONCATENATION: (schema.BuiltinOptions.ConcatenationOptions, schema.ConcatenationOptionsT)}


def opcode(model: fb.ModelT, code: int) -> int:
    for i, known in enumerate(model.operatorCodes):
        if known.builtinCode == code:
            return i
    new = schema.OperatorCodeT()
    new.builtinCode, new.deprecatedBuiltinCode, new.version = code, min(code, 127), 2  # version 2: int8
    model.operatorCodes.append(new)
    return len(model.operatorCodes) - 1


def constant(model: fb.ModelT, graph, name: str, value: np.ndarray, kind: int) -> int:
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(value.tobytes(), np.uint8).copy()
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.name, tensor.shape, tensor.type = name.encode(), np.array(value.shape, np.int32), kind
    tensor.buffer = len(model.buffers) - 1
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def activation_like(graph, source: int, name: str, shape: list[int]) -> int:
    """A new activation tensor with ``source``'s type and quantisation."""
    tensor = copy.deepcopy(graph.tensors[source])
    tensor.name, tensor.shape, tensor.buffer, tensor.shapeSignature = name.encode(), np.array(shape, np.int32), 0, None
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def operator(model: fb.ModelT, code: int, inputs: list[int], outputs: list[int], **options) -> schema.OperatorT:
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = opcode(model, code), inputs, outputs
    op.builtinOptionsType, option_class = OPTIONS[code]
    op.builtinOptions = option_class()
    for key, value in options.items():
        setattr(op.builtinOptions, key, value)
    return op


def rewrite(model: fb.ModelT) -> int:
    """Rewrite every SAME 3x3 CONV_2D on a (1, H, W, 1) input in place; returns how many."""
    graph, ops, count = model.subgraphs[0], [], 0
    for op in graph.operators:
        kernel = graph.tensors[op.inputs[1]] if len(op.inputs) > 1 else None
        if not (fb.opcode_to_name(model, op.opcodeIndex) == "CONV_2D" and list(kernel.shape)[1:] == [3, 3, 1]
                and op.builtinOptions.padding == schema.Padding.SAME and op.builtinOptions.strideW == 1):
            ops.append(op)
            continue
        count += 1
        x = int(op.inputs[0])
        _, h, w, _ = (int(v) for v in graph.tensors[x].shape)
        pads = constant(model, graph, f"im2col{count}/pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32),
                        schema.TensorType.INT32)
        padded = activation_like(graph, x, f"im2col{count}/padded", [1, h + 2, w + 2, 1])
        ops.append(operator(model, OP.PAD, [x, pads], [padded]))
        strides = constant(model, graph, f"im2col{count}/strides", np.ones(4, np.int32), schema.TensorType.INT32)
        taps = []
        for dy in range(3):
            for dx in range(3):
                begin = constant(model, graph, f"im2col{count}/begin{dy}{dx}", np.array([0, dy, dx, 0], np.int32),
                                 schema.TensorType.INT32)
                end = constant(model, graph, f"im2col{count}/end{dy}{dx}", np.array([1, dy + h, dx + w, 1], np.int32),
                               schema.TensorType.INT32)
                taps.append(activation_like(graph, x, f"im2col{count}/tap{dy}{dx}", [1, h, w, 1]))
                ops.append(operator(model, OP.STRIDED_SLICE, [padded, begin, end, strides], [taps[-1]]))
        columns = activation_like(graph, x, f"im2col{count}/columns", [1, h, w, 9])
        ops.append(operator(model, OP.CONCATENATION, taps, [columns], axis=3))
        weights = np.frombuffer(bytes(model.buffers[kernel.buffer].data), np.int8).reshape(kernel.shape)
        flat = constant(model, graph, f"im2col{count}/kernel", np.ascontiguousarray(weights.reshape(-1, 1, 1, 9)),
                        schema.TensorType.INT8)
        graph.tensors[flat].quantization = copy.deepcopy(kernel.quantization)  # the same per-channel scales
        conv = copy.deepcopy(op)
        conv.inputs = [columns, flat, op.inputs[2]]
        conv.builtinOptions.padding = schema.Padding.VALID
        ops.append(conv)
    graph.operators = ops
    return count


def outputs(blob: bytes, faces: np.ndarray, xnnpack: bool) -> np.ndarray:
    resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(model_content=blob, num_threads=1, experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    result = []
    for face in faces:
        interp.set_tensor(inp["index"], (face.astype(np.int16) - 128).astype(np.int8)[None, :, :, None])
        interp.invoke()
        result.append(interp.get_tensor(out["index"])[0].astype(np.int32))
    return np.stack(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "face_emotion.tflite")
    args = parser.parse_args()
    original = args.model.read_bytes()
    model = fb.read_model_from_bytearray(bytearray(original))
    count = rewrite(model)
    blob = bytes(fb.convert_object_to_bytearray(model))
    args.out.write_bytes(blob)
    faces = np.load(REPO.parent / "shared" / "data" / "fer2013" / "fer2013_publictest.npz")["images"][:500]
    for xnnpack in (False, True):
        diff = np.abs(outputs(blob, faces, xnnpack) - outputs(original, faces, xnnpack)).max()
        print(f"{'XNNPACK' if xnnpack else 'built-in kernels'}: largest output difference over {len(faces)} "
              f"PublicTest faces: {diff} int8 steps")
    print(f"wrote {args.out}: {count} first convolutions rewritten")


if __name__ == "__main__":
    main()
