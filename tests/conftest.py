"""Shared test helpers: tiny versions of every zoo entry and the data they train on."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import keras

# Width overrides that make every zoo entry fast enough to train on 2 CPU cores.
TINY = {
    "latent_dim": 8,
    "generator": {"base_filters": 4},
    "discriminator": {"base_filters": 4},
}

# The DCGAN paper's discriminator loss and no penalty: `dcgan_mnist`'s recipe trains with the
# relativistic loss and lazy R1/R2, so tests of the non-saturating step's math ask for this.
NON_SATURATING = {"loss": "non_saturating", "r1_weight": 0.0, "r2_weight": 0.0, "penalty_interval": 1}


def tiny_model(name, seed=0, jit_compile=False, run_eagerly=False, **overrides):
    """A zoo entry with tiny widths, compiled with its recipe's optimizers.

    ``run_eagerly=True`` is for tests whose subject is not the traced step (saving,
    fine-tuning, validation, Adam's arithmetic): for a few tiny steps it is 3-5x cheaper
    than tracing the step. The traced step of every entry is pinned by
    ``test_models.test_one_fit_step_trains_both_players_with_recipe_d_steps`` and the
    graph-only checks by ``test_input_checks``.
    """
    import ganzoo

    keras.utils.set_random_seed(seed)
    gan = ganzoo.create_model(name, compile=False, seed=seed, **{**TINY, **overrides})
    gan.compile(jit_compile=jit_compile, run_eagerly=run_eagerly)
    return gan


def by_kind(names):
    """`names` as pytest parameters: per kind of entry (loss family, generator class,
    conditional or not) the one with the smallest images runs by default, the others
    are marked slow. The default run still covers every loss with every network."""
    import ganzoo

    def kind(name):
        recipe = ganzoo.get_recipe(name)
        return recipe.family, recipe.generator["class"], recipe.num_classes is not None

    def size(name):
        h, w, c = ganzoo.get_recipe(name).image_shape
        return h * w * c, name

    first = {}
    for name in sorted(names, key=size):
        first.setdefault(kind(name), name)
    fast = set(first.values())
    return [name if name in fast else pytest.param(name, marks=pytest.mark.slow) for name in names]


def real_batch(gan, per_step=2, seed=0):
    """One dataset element for `gan`: d_steps * per_step images in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = gan.d_steps * per_step
    images = rng.uniform(-1, 1, size=(n, *gan.image_shape)).astype("float32")
    if gan.num_classes:
        return images, rng.integers(0, gan.num_classes, size=(n,)).astype("int32")
    return images


def trainable_values(net):
    """Copies of `net`'s trainable variables, as NumPy arrays."""
    return [np.array(v) for v in net.trainable_variables]


def every_kernel_moved(before, after):
    """Every kernel (rank >= 2) moved. Biases may legitimately stay: e.g. the hinge
    loss gives the last bias a zero gradient while all logits lie in (-1, 1)."""
    return all(not np.array_equal(a, b) for a, b in zip(before, after) if a.ndim >= 2)


def offline_keras_home(monkeypatch, tmp_path):
    """KERAS_HOME at an empty folder, and every Keras download failing as it does offline.

    Nothing touches the network: `keras.utils.get_file` (and the copy Keras'
    applications call) raise Keras' own "URL fetch failure" instead.

    Returns:
        ``(models, fetches)``: the folder where Keras caches weights
        (``$KERAS_HOME/models``, not created) and the list of URLs fetched.
    """
    from keras.src.utils import file_utils

    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    fetches = []

    def offline(fname, origin=None, **kwargs):
        fetches.append(origin)
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr(file_utils, "get_file", offline)
    return home / "models", fetches


def tiny_inception_v3(include_top=True, weights="imagenet", **kwargs):
    """A stand-in for `keras.applications.InceptionV3` that loads no weights: 299x299x3 ->
    a 2048-d "avg_pool" layer -> a 1000-way softmax (with `include_top`)."""
    inputs = keras.Input((299, 299, 3))
    x = keras.layers.AveragePooling2D(13)(inputs)  # 23x23 cells of 13x13 pixels
    x = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, strides=4)(x))
    pool = keras.layers.Dense(2048, activation="relu", name="avg_pool")(x)
    if not include_top:
        return keras.Model(inputs, pool)
    return keras.Model(inputs, keras.layers.Dense(1000, activation="softmax", name="predictions")(pool))


def as_dataset(batch, repeats=1):
    import tensorflow as tf

    return tf.data.Dataset.from_tensors(batch).repeat(repeats)


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends with the float32 policy."""
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


class DigitLookupGAN:
    """A stand-in conditional GAN whose 'generator' returns real held-out digits (mnist_5k:test).

    Asked for class c it returns a digit of class ``target(c)`` (default: c itself, so the
    classifier agrees with the request), and it records the labels it was asked for.
    """

    def __init__(self, target=lambda c: c):
        from ganzoo.metrics._reference import load_arrays

        x, y, _ = load_arrays("mnist_5k", "test", image_shape=(28, 28, 1))
        self.by_class = [x[y == c] for c in range(10)]
        self.target = target
        self.asked = []
        self.num_classes, self.latent_dim, self.image_shape = 10, 2, (28, 28, 1)
        self.sampling_generator = self._generate

    def latent(self, num, seed=0):
        return np.stack([np.arange(num), np.zeros(num)], axis=1).astype("float32")

    def _generate(self, inputs, training=False):
        z, labels = inputs
        labels = np.asarray(labels)
        self.asked.append(labels)
        digits = [self.by_class[self.target(int(c))] for c in labels]
        return np.stack([d[i % len(d)] for d, i in zip(digits, np.asarray(z)[:, 0].astype(int))])

    def requested(self):
        """Every label asked for, in order: int ``(N,)``."""
        return np.concatenate(self.asked)
