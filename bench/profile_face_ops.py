"""Where an int8 face model spends its time, op by op, and which ops XNNPACK runs.

    .venv/bin/python bench/profile_face_ops.py [--model PATH] [--repeats N]

The Python runtime has no op profiler, so each operator of the model is cut out into a model of
its own (its real weights and quantisation, inputs random int8) and timed alone, one thread,
the way the daemon builds its interpreter (``runtime.load_interpreter``: XNNPACK applied by
default, which also takes quantised ops); "xnnpack" says whether the delegate took the op. The
same op is then timed on TFLite's built-in kernels (XNNPACK off) for comparison. The sum of
the ops is printed beside the whole graph's time; the difference is what the cut-out models
do not see (partition hand-over, cache warmth).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))

import numpy as np  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402
from ai_edge_litert.tools import flatbuffer_utils as fb  # noqa: E402


def median_ms(interp: Interpreter, repeats: int) -> float:
    """Median wall time of ``invoke`` in ms, inputs set once beforehand (random int8)."""
    rng = np.random.default_rng(0)
    for d in interp.get_input_details():
        info = np.iinfo(d["dtype"]) if np.issubdtype(d["dtype"], np.integer) else None
        value = rng.integers(info.min, info.max + 1, d["shape"]) if info else rng.standard_normal(d["shape"])
        interp.set_tensor(d["index"], value.astype(d["dtype"]))
    for _ in range(max(3, repeats // 10)):
        interp.invoke()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def load(blob: bytes, xnnpack: bool) -> Interpreter:
    resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(model_content=blob, num_threads=1, experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    return interp


def single_op_models(model: fb.ModelT) -> list[tuple[str, str, bytes]]:
    """(op name, shapes, model bytes) for each operator of subgraph 0, cut out alone."""
    graph = model.subgraphs[0]
    constant = {i for i, t in enumerate(graph.tensors)
                if t.buffer > 0 and model.buffers[t.buffer].data is not None and len(model.buffers[t.buffer].data)}
    out = []
    for op in graph.operators:
        name = fb.opcode_to_name(model, op.opcodeIndex) or "?"
        one = copy.copy(model)
        g = copy.copy(graph)
        g.operators = [op]
        g.inputs = [int(i) for i in op.inputs if i >= 0 and int(i) not in constant]
        g.outputs = [int(i) for i in op.outputs]
        one.subgraphs = [g]
        one.signatureDefs = []
        one.metadata = []
        shapes = " ".join("x".join(str(s) for s in graph.tensors[int(i)].shape) for i in op.outputs)
        out.append((name, shapes, bytes(fb.convert_object_to_bytearray(one))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "face_emotion.tflite")
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    blob = args.model.read_bytes()
    whole = {x: median_ms(load(blob, x), args.repeats) for x in (True, False)}
    partitions = sum(1 for op in load(blob, True)._get_ops_details() if op["op_name"] == "DELEGATE")
    rows = []
    for name, shapes, one in single_op_models(fb.read_model_from_bytearray(bytearray(blob))):
        fast = load(one, True)
        taken = any(op["op_name"] == "DELEGATE" for op in fast._get_ops_details())
        rows.append((name, shapes, taken, median_ms(fast, args.repeats), median_ms(load(one, False), args.repeats)))
    print(f"{args.model.name}: whole graph {whole[True]:.3f} ms with XNNPACK ({partitions} delegated "
          f"partition(s)), {whole[False]:.3f} ms on the built-in kernels; one thread, median of {args.repeats}")
    by_op: dict[tuple[str, bool], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for name, _, taken, t_x, t_b in rows:
        acc = by_op[(name, taken)]
        acc[0] += 1
        acc[1] += t_x
        acc[2] += t_b
    total = sum(r[3] for r in rows)
    print(f"{'op':<16} {'xnnpack':>7} {'count':>5} {'ms (as run)':>11} {'share':>6} {'ms (built-in)':>13}")
    for (name, taken), (count, t_x, t_b) in sorted(by_op.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:<16} {'yes' if taken else 'NO':>7} {int(count):>5} {t_x:>11.3f} {t_x / total:>6.1%} {t_b:>13.3f}")
    print(f"{'sum of ops':<16} {'':>7} {len(rows):>5} {total:>11.3f} {'':>6} {sum(r[4] for r in rows):>13.3f}")
    print("\nper op (as run):")
    for i, (name, shapes, taken, t_x, _) in enumerate(rows):
        print(f"  {i:>3} {name:<16} {shapes:<14} {'xnnpack' if taken else 'BUILT-IN':<8} {t_x:.4f} ms")


if __name__ == "__main__":
    main()
