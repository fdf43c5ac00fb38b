"""Train the face expression CNN on FER2013 and export it as a full-integer int8 TFLite model.

Reproduces ``models/face_emotion.tflite`` from the data (seeds fixed):

    .venv/bin/pip install -e '.[train]'
    nice .venv/bin/python models/train_face.py --epochs 60 --bf16 --erase 0.25 --ckpt /var/tmp/face-ckpt

Training resumes from ``--ckpt`` when interrupted (same command). ``--export-only`` skips
training and exports the best checkpoint (with ``--init F``: the float16 weights F, e.g. the
committed warm start, which reproduces the shipped model). Needs TensorFlow (the ``train`` extra); the daemon
never imports it.

Input contract of the exported model: (1, 48, 48, 1) int8, the 48x48 grayscale face with
pixel p (0..255) stored as p - 128 (scale 1, zero point -128, i.e. the raw pixels); output
(1, 7) int8 probabilities over EMOTIONS (dequantise with the output's scale/zero point).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))  # the class order and contract key come from the package
sys.path.insert(0, str(REPO / "models"))

from tflite_contract import with_contract  # noqa: E402

from moodshuffle.domain.emotions import EMOTIONS  # noqa: E402
from moodshuffle.perceive.expression import CONTRACT_KEY, ExpressionModel  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "fer2013"
SEED = 1234


def load_split(name: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(DATA / f"fer2013_{name}.npz", allow_pickle=False)
    classes = tuple(str(c) for c in data["classes"])
    assert classes == EMOTIONS, f"class order {classes} differs from EMOTIONS"
    return data["images"].astype(np.float32)[..., None], data["labels"].astype(np.int64)


#: channel widths per stage (48, 24, 12 and 6 px) of each architecture, and its cost per view
ARCHS = {
    "vgg": (32, 64, 128, 192),  # the shipped network: ~0.85 M parameters, ~84 M MACs per view
    "lite": (24, 48, 96, 160),  # issue 31's cheaper network: ~0.58 M parameters, ~50 M MACs per view
    # issue 31's third network: a cheap stem (one 4x4 stride-2 conv from 48 to 24 px instead of a
    # 3x3 conv on the grey channel at 48 px and a pool) and a narrower 24 px stage: ~69 M MACs per view
    "stem": (32, 48, 128, 192),
}
#: architectures whose first layer is the strided stem
STRIDED_STEM = {"stem"}


def build_model(tf, arch: str = "vgg"):
    """A VGG-style CNN with batch norm and global pooling (widths from ARCHS)."""
    w0, w1, w2, w3 = ARCHS[arch]
    keras = tf.keras
    layers = keras.layers
    inputs = keras.Input((48, 48, 1), name="face")
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)

    def conv(x, filters):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    if arch in STRIDED_STEM:
        x = layers.Conv2D(w0, 4, strides=2, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))  # 24x24
    else:
        x = conv(x, w0)
        x = layers.MaxPooling2D()(x)  # 24x24
    x = conv(x, w1)
    x = conv(x, w1)
    x = layers.MaxPooling2D()(x)  # 12x12
    x = conv(x, w2)
    x = conv(x, w2)
    x = layers.MaxPooling2D()(x)  # 6x6
    x = conv(x, w3)
    x = conv(x, w3)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.4)(x)
    logits = layers.Dense(len(EMOTIONS), name="logits")(x)
    outputs = layers.Softmax(name="probs", dtype="float32")(logits)  # float32 also under --bf16
    return keras.Model(inputs, outputs, name="face_emotion")


def camera_degrade(tf, images, p: float):
    """Make a batch of 48x48 faces look like faces cut from camera frames: for a random share
    ``p`` of the batch, a softer image (downscaled to 16..40 px and back, as a small or blurred
    face is), sensor noise (sigma 0..6 grey levels) and a gamma change (0.7..1.4, lighting)."""
    images = tf.cast(images, tf.float32)  # the augmentation layers answer in bfloat16 under --bf16
    n = tf.shape(images)[0]
    pick = tf.random.uniform((n, 1, 1, 1)) < p
    side = tf.random.uniform((), 16, 41, dtype=tf.int32)
    soft = tf.image.resize(tf.image.resize(images, (side, side), method="area"), (48, 48), method="bilinear")
    noisy = soft + tf.random.normal(tf.shape(images)) * tf.random.uniform((n, 1, 1, 1), 0.0, 6.0)
    gamma = tf.exp(tf.random.uniform((n, 1, 1, 1), np.log(0.7), np.log(1.4)))
    lit = 255.0 * tf.pow(tf.clip_by_value(noisy, 0.0, 255.0) / 255.0, gamma)
    return tf.where(pick, lit, images)


def augmenter(tf, erase: float = 0.0):
    """Training augmentation; ``erase`` is the probability of blanking a random patch (random erasing)."""
    layers = tf.keras.layers
    return tf.keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.04, fill_mode="nearest"),
        layers.RandomZoom((-0.1, 0.1), fill_mode="nearest"),
        layers.RandomTranslation(0.08, 0.08, fill_mode="nearest"),
        layers.RandomContrast(0.3),
        layers.RandomBrightness(0.15, value_range=(0, 255)),
        *([layers.RandomErasing(factor=erase, scale=(0.02, 0.2), value_range=(0, 255))] if erase else []),
    ], name="augment")


def predict_tta(model, x: np.ndarray, views: int = 2) -> np.ndarray:
    """Average of the image and its mirror image (the per-epoch selection metric); with
    ``views`` 1 the image alone (the metric of a single-view model)."""
    p = model.predict(x, batch_size=256, verbose=0)
    if views == 1:
        return p
    q = model.predict(x[:, :, ::-1], batch_size=256, verbose=0)
    return (p + q) / 2


#: pixels cut from each side for the zoomed test-time view (44x44 centre scaled back to 48x48)
ZOOM_CROP = 2


def with_tta(tf, model, views: int = 4):
    """The shipped graph: the mean of the model's probabilities over four views of the face,
    as is, mirrored, zoomed in (centre crop scaled back up) and zoomed in and mirrored; with
    ``views`` 1 the network alone (the input contract is the same)."""
    layers = tf.keras.layers
    if views == 1:
        return model
    inputs = tf.keras.Input((48, 48, 1), name="face")
    mirror = layers.Lambda(lambda t: tf.reverse(t, axis=[2]), name="mirror")
    zoomed = layers.Lambda(
        lambda t: tf.image.resize(t[:, ZOOM_CROP : 48 - ZOOM_CROP, ZOOM_CROP : 48 - ZOOM_CROP], (48, 48)),
        name="zoom",
    )(inputs)
    shown = [inputs, mirror(inputs), zoomed, mirror(zoomed)][:views]
    outputs = layers.Average(name="probs_tta")([model(v) for v in shown])
    return tf.keras.Model(inputs, outputs, name="face_emotion_tta")


def report(name: str, probs: np.ndarray, labels: np.ndarray) -> dict:
    pred = probs.argmax(1)
    confusion = np.zeros((7, 7), np.int64)
    np.add.at(confusion, (labels, pred), 1)
    recall = {EMOTIONS[i]: round(float(confusion[i, i] / max(1, confusion[i].sum())), 4) for i in range(7)}
    result = {"name": name, "n": int(len(labels)), "accuracy": round(float((pred == labels).mean()), 4),
              "per_class_recall": recall, "confusion": confusion.tolist()}
    print(json.dumps(result), flush=True)
    return result


def train(args, tf) -> None:
    keras = tf.keras
    ckpt = Path(args.ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    x, y = load_split("train")
    xv, yv = load_split("publictest")
    if args.smoke:
        pick, pickv = np.random.default_rng(SEED).permutation(len(x))[:2048], np.arange(0, len(xv), 7)
        x, y, xv, yv = x[pick], y[pick], xv[pickv], yv[pickv]
    counts = np.bincount(y, minlength=7)
    # sqrt-inverse-frequency weights: lift disgust without wrecking overall accuracy
    weights = np.sqrt(counts.max() / counts)
    sample_w = weights[y].astype(np.float32)
    steps = int(np.ceil(len(x) / args.batch))

    state_file = ckpt / "state.json"
    last = ckpt / "last.keras"
    start_epoch, best = 0, 0.0
    schedule = keras.optimizers.schedules.CosineDecay(
        1e-4, decay_steps=steps * (args.epochs - 2), alpha=0.01, warmup_target=args.lr, warmup_steps=steps * 2
    )
    if last.exists() and state_file.exists():
        model = keras.models.load_model(last)
        state = json.loads(state_file.read_text())
        start_epoch, best = state["epoch"], state["best"]
        # a resumed run may be given another length: the cosine schedule follows it
        model.optimizer._learning_rate = schedule
        print(f"resuming at epoch {start_epoch} of {args.epochs} (best {best:.4f})", flush=True)
    else:
        model = build_model(tf, args.arch)
        if args.init:
            load_f16(model, Path(args.init))
            print(f"warm start from {args.init}", flush=True)
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=5e-4),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
            metrics=["accuracy"],
        )
    model.summary(print_fn=lambda s: print(s, flush=True)) if start_epoch == 0 else None

    aug = augmenter(tf, args.erase)
    onehot = np.eye(7, dtype=np.float32)[y]
    if args.teacher:
        soft = teacher_targets(args.teacher.split(","), x, ckpt, args.smoke)
        onehot = (1 - args.kd_weight) * onehot + args.kd_weight * soft
        print(f"distilling: targets are {1 - args.kd_weight:g} x label + {args.kd_weight:g} x the mean of "
              f"{args.teacher} (teachers agree with the labels on {(soft.argmax(1) == y).mean():.4f} "
              f"of the training faces)", flush=True)
    ds = (tf.data.Dataset.from_tensor_slices((x, onehot, sample_w))
          .shuffle(len(x), seed=args.seed, reshuffle_each_iteration=True)
          .batch(args.batch)
          .map(lambda a, b, w: (camera_degrade(tf, aug(a, training=True), args.camera_aug), b, w),
               num_parallel_calls=1)
          .prefetch(2))
    posed = posed_crops()
    sel_views = 1 if args.views == 1 else 2  # the selection metric: flip TTA, or the view shipped alone
    for epoch in range(start_epoch, args.epochs):
        t0 = time.time()
        hist = model.fit(ds, epochs=epoch + 1, initial_epoch=epoch, verbose=0)
        acc = float((predict_tta(model, xv, sel_views).argmax(1) == yv).mean())
        posed_acc = (float((predict_tta(model, posed[0], sel_views).argmax(1) == posed[1]).mean())
                     if posed else float("nan"))
        if acc > best:
            best = acc
            model.save_weights(ckpt / "best.weights.h5")
        model.save(last)
        state_file.write_text(json.dumps({"epoch": epoch + 1, "best": best}))
        print(f"epoch {epoch + 1}/{args.epochs} loss {hist.history['loss'][-1]:.4f} "
              f"train_acc {hist.history['accuracy'][-1]:.4f} val_acc_tta {acc:.4f} posed_tta {posed_acc:.4f} "
              f"best {best:.4f} "
              f"{time.time() - t0:.0f}s", flush=True)
    if args.swa_epochs:
        swa_phase(args, tf, model, ds, x, xv, yv, steps, max(start_epoch, args.epochs), best)


def teacher_targets(paths: list[str], x: np.ndarray, ckpt: Path, smoke: bool) -> np.ndarray:
    """The teachers' mean probabilities over the training faces (int8 .tflite models with the
    shipped contract, run through the daemon's own inference code), cached in ``ckpt`` so a
    resumed run distils from the same targets."""
    cache = ckpt / "teacher.npz"
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if [str(t) for t in data["teachers"]] == paths and len(data["probs"]) == len(x):
            return data["probs"]
    faces = x[..., 0].astype(np.uint8)
    probs = np.mean([ExpressionModel(Path(t)).predict(faces) for t in paths], axis=0).astype(np.float32)
    if not smoke:
        np.savez(cache, teachers=np.array(paths), probs=probs)
    return probs


def posed_crops() -> tuple[np.ndarray, np.ndarray] | None:
    """The 48x48 crops of ``faces/posed`` exactly as the camera path cuts them (largest face of
    each photo), with their labels; logged every epoch, never used for selection or training."""
    import csv

    import cv2

    from moodshuffle.config import Config
    from moodshuffle.domain.emotions import INDEX
    from moodshuffle.perceive.expression import prepare_face
    from moodshuffle.perceive.faces import FaceAnalyzer

    folder = REPO.parent / "shared" / "data" / "faces" / "posed"
    if not (folder / "labels.csv").exists():
        return None
    cfg = Config()
    analyzer = FaceAnalyzer(cfg.camera, cfg.models)
    faces, labels = [], []
    with open(folder / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            found = analyzer.crops(cv2.imread(str(folder / row["file"])))
            if found:
                crop = max(found, key=lambda dc: dc[0].size)[1]
                faces.append(prepare_face(crop).astype(np.float32)[..., None])
                labels.append(INDEX[row["emotion"]])
    return np.stack(faces), np.array(labels)


def save_f16(model, path: Path) -> None:
    """Every weight of ``model`` (batch-norm statistics included) as float16, in layer order:
    the warm start that later training runs continue from (committed, so it outlives the day)."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for i, w in enumerate(model.get_weights()):
            f.create_dataset(f"w{i:03d}", data=w.astype(np.float16), compression="gzip")
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB, float16)", flush=True)


def load_f16(model, path: Path) -> None:
    import h5py

    with h5py.File(path, "r") as f:
        model.set_weights([f[f"w{i:03d}"][()].astype(np.float32) for i in range(len(f))])


def swa_phase(args, tf, model, ds, x, xv, yv, steps, start_epoch, best) -> None:
    """Stochastic weight averaging (Izmailov et al. 2018) after the cosine phase.

    The learning rate restarts every epoch (cosine from --swa-lr down to 1% of it) and the
    weights at the end of each cycle, where the rate is lowest, enter a running mean. The
    averaged network has no batch-norm statistics of its own, so they are recomputed on
    training batches before each evaluation. The average replaces ``best.weights.h5`` only
    when its PublicTest accuracy beats every earlier checkpoint.
    """
    ckpt = Path(args.ckpt)
    state_file, last, swa_file = ckpt / "state.json", ckpt / "last.keras", ckpt / "swa.npz"
    end = args.epochs + args.swa_epochs
    model.optimizer._learning_rate = tf.keras.optimizers.schedules.CosineDecayRestarts(
        args.swa_lr, first_decay_steps=steps, t_mul=1.0, m_mul=1.0, alpha=0.01
    )
    trainable = {id(v) for v in model.trainable_weights}
    is_trainable = [id(v) in trainable for v in model.weights]
    if swa_file.exists() and start_epoch > args.epochs:
        saved = np.load(swa_file)
        count, mean = int(saved["count"]), [saved[f"w{i}"] for i in range(len(model.weights))]
        print(f"resuming SWA at epoch {start_epoch} of {end} ({count} snapshots averaged)", flush=True)
    else:
        count, mean = 0, None
    bn_images = x[np.random.default_rng(SEED).choice(len(x), min(len(x), args.swa_bn_images), replace=False)]
    for epoch in range(start_epoch, end):
        t0 = time.time()
        hist = model.fit(ds, epochs=epoch + 1, initial_epoch=epoch, verbose=0)
        model.save(last)
        current = model.get_weights()
        if mean is None:
            mean = [w.copy() for w in current]
        else:
            mean = [m + (w - m) / (count + 1) if t else m for m, w, t in zip(mean, current, is_trainable, strict=True)]
        count += 1
        snapshot_acc = float((predict_tta(model, xv).argmax(1) == yv).mean())
        model.set_weights(mean)
        recompute_batch_norm(tf, model, bn_images)
        acc = float((predict_tta(model, xv).argmax(1) == yv).mean())
        if acc > best:
            best = acc
            model.save_weights(ckpt / "best.weights.h5")
        mean = model.get_weights()  # keeps the recomputed statistics, only trainable weights are averaged
        np.savez(swa_file, count=count, **{f"w{i}": w for i, w in enumerate(mean)})
        model.set_weights(current)
        state_file.write_text(json.dumps({"epoch": epoch + 1, "best": best}))
        print(f"swa epoch {epoch + 1}/{end} loss {hist.history['loss'][-1]:.4f} "
              f"train_acc {hist.history['accuracy'][-1]:.4f} snapshot_val_acc_tta {snapshot_acc:.4f} "
              f"swa_val_acc_tta {acc:.4f} ({count} averaged) best {best:.4f} {time.time() - t0:.0f}s", flush=True)


def recompute_batch_norm(tf, model, images: np.ndarray, batch: int = 256) -> None:
    """Set every batch-norm layer's moving statistics to their mean over ``images`` (augmented)."""
    norms = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
    saved_momentum = [layer.momentum for layer in norms]
    for layer in norms:
        layer.moving_mean.assign(tf.zeros_like(layer.moving_mean))
        layer.moving_variance.assign(tf.ones_like(layer.moving_variance))
    aug = augmenter(tf)
    for k, start in enumerate(range(0, len(images), batch)):
        for layer in norms:
            layer.momentum = k / (k + 1)  # a cumulative mean over the batches seen so far
        model(aug(images[start : start + batch], training=True), training=True)
    for layer, momentum in zip(norms, saved_momentum, strict=True):
        layer.momentum = momentum


def export(args, tf) -> None:
    tf.keras.mixed_precision.set_global_policy("float32")  # the exported graph is float32 before quantisation
    ckpt = Path(args.ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    model = build_model(tf, args.arch)
    if args.export_only and args.init:  # the committed float16 weights themselves
        load_f16(model, Path(args.init))
    else:
        model.load_weights(ckpt / "best.weights.h5")
    if args.f16_out:
        save_f16(model, Path(args.f16_out))
        load_f16(model, Path(args.f16_out))  # export exactly what the next run continues from
    xv, yv = load_split("publictest")
    report("float", model.predict(xv, batch_size=256, verbose=0), yv)
    report("float_flip", predict_tta(model, xv), yv)
    shipped = with_tta(tf, model, args.views)
    float_result = report("float_tta", shipped.predict(xv, batch_size=256, verbose=0), yv)

    x, _ = load_split("train")
    rng = np.random.default_rng(SEED)
    rep = x[rng.choice(len(x), 1000, replace=False)]

    def representative():
        for i in range(len(rep)):
            yield [rep[i : i + 1]]

    converter = tf.lite.TFLiteConverter.from_keras_model(shipped)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    contract = dict(CONTRACT, tta=TTA_TEXT[args.views], arch=args.arch)
    blob = with_contract(converter.convert(), CONTRACT_KEY, contract)
    out = Path(args.out)
    out.write_bytes(blob)
    print(f"wrote {out} ({len(blob) / 1024:.0f} KiB)", flush=True)

    # the int8 figures come through the daemon's own inference code
    probs = ExpressionModel(out).predict(xv[..., 0].astype(np.uint8))
    int8_result = report("int8", probs, yv)
    (ckpt / "export.json").write_text(json.dumps({"float_tta": float_result, "int8": int8_result}, indent=1))


#: The model's input contract, stored in the .tflite as metadata (CONTRACT_KEY); the daemon checks it at load
CONTRACT = {
    "task": "face expression",
    "input": "48x48 grayscale face, int8 = pixel - 128 (scale 1, zero point -128)",
    "classes": list(EMOTIONS),
    "tta": "mean over the face, its mirror image, a 44x44 centre zoom and its mirror image",
}
TTA_TEXT = {
    1: "none: one view, the face as given",
    2: "mean over the face and its mirror image",
    4: CONTRACT["tta"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--swa-epochs", type=int, default=0, help="weight-averaging epochs after --epochs")
    parser.add_argument("--swa-lr", type=float, default=1e-3, help="peak of each one-epoch SWA cycle")
    parser.add_argument("--swa-bn-images", type=int, default=8192, help="training faces for the BN statistics")
    parser.add_argument("--ckpt", default="/tmp/moodshuffle-face-ckpt")
    parser.add_argument("--out", default=str(REPO / "models" / "face_emotion.tflite"))
    parser.add_argument("--smoke", action="store_true", help="tiny subset, to test the pipeline")
    parser.add_argument("--export-only", action="store_true")
    parser.add_argument("--bf16", action="store_true",
                        help="train in mixed bfloat16 (about 2x faster on CPUs with AMX/AVX512-BF16)")
    parser.add_argument("--erase", type=float, default=0.0, help="random-erasing probability (augmentation)")
    parser.add_argument("--camera-aug", type=float, default=0.0,
                        help="share of each batch degraded like camera faces (downscale, noise, gamma)")
    parser.add_argument("--init", default="", help="float16 weights (.weights.h5) to start from instead of random")
    parser.add_argument("--f16-out", default=str(REPO / "models" / "checkpoints" / "face_emotion.weights.h5"),
                        help="where export writes the float16 weights of the exported model ('' to skip)")
    parser.add_argument("--teacher", default="",
                        help="comma-separated int8 .tflite face models whose mean probabilities the network "
                             "also learns (knowledge distillation)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="initialisation and shuffling seed (another seed starts another lineage)")
    parser.add_argument("--kd-weight", type=float, default=0.5,
                        help="share of each training target taken from the teachers (with --teacher)")
    parser.add_argument("--arch", choices=sorted(ARCHS), default="vgg", help="network widths (see ARCHS)")
    parser.add_argument("--views", type=int, choices=sorted(TTA_TEXT), default=4,
                        help="views averaged by the exported graph (1: the network alone, selected on one view)")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(args.seed)
    if not args.export_only:
        if args.bf16:
            tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
        train(args, tf)
    export(args, tf)


if __name__ == "__main__":
    main()
