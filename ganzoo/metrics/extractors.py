"""Feature extractors: images in [-1, 1] -> feature vectors and class probabilities.

Three extractors ship:

* ``"mnist_5k_classifier"`` (`MNISTClassifierExtractor`), offline, for 28x28x1
  digits: a small CNN that ganzoo trains on the ``mnist_5k`` "train" split
  (``python -m ganzoo.metrics.train_classifier``) and ships in
  ``saved_models/mnist_classifier/`` with a model card holding its test
  accuracy and the sha256 of its weights, verified at every load. Features are
  its penultimate layer (``"features"``, 64 units after ReLU), probabilities its
  softmax over the 10 digits. Images are used at their native 28x28x1 size.
* ``"twemoji_classifier"`` (`TwemojiClassifierExtractor`), offline, for 32x32x3
  (and 64x64x3) Twemoji art: a small CNN that ganzoo trains on the 9 Unicode
  emoji groups of ``twemoji:train`` and ships in ``saved_models/twemoji_classifier/``
  the same way (128-d "features", softmax over the 9 groups). "auto" picks it
  when the reference data is ``twemoji``.
* ``"inception_v3"`` (`InceptionV3Extractor`), the standard for FID/KID/IS
  (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer
  Vision", arXiv:1512.00567): ``keras.applications.InceptionV3`` with ImageNet
  weights. Features are the 2048-d "pool3" activations (its ``avg_pool``
  layer, what ``include_top=False, pooling="avg"`` returns); probabilities, for
  IS, the 1000-way softmax of its top. One network (``include_top=True``) gives
  both in one call, so asking for features and then probabilities builds
  InceptionV3 once. Images are resized from their size to 299x299 with
  bilinear interpolation (``tf.image.resize``, no antialiasing), gray is
  repeated to RGB, and the [-1, 1] range is kept (it is what
  `keras.applications.inception_v3.preprocess_input` produces). The ImageNet
  weights with the top (about 92 MB, `INCEPTION_WEIGHTS_FILE`) are looked for in
  the Keras cache (``$KERAS_HOME/models``, else ``~/.keras/models``) and
  downloaded there once if missing, when an evaluation starts
  (`FeatureExtractor.prepare`): offline, a missing file is a FileNotFoundError
  naming the file and the folder to copy it into, before any image is read or
  any training step runs. Numbers from Keras' InceptionV3
  are close to, but not identical with, those of the TF1 graph of the original
  FID and IS code: compare only numbers computed with the same extractor.

Both run compiled (`ganzoo.networks.inference.compiled`: one `tf.function` per network
and image shape, any batch size), in batches of `FeatureExtractor.batch_size`
images with a smaller last batch, so any number of images is fine.
"""

import json
import os
import pathlib

import numpy as np

from ganzoo import paths
from ganzoo.checksums import sha256_of
from ganzoo.metrics import _checks
from ganzoo.networks import inference

MNIST_CLASSIFIER_NAME = "mnist_5k_classifier"
TWEMOJI_CLASSIFIER_NAME = "twemoji_classifier"
FEATURE_LAYER = "features"
INCEPTION_NAME = "inception_v3"
INCEPTION_SIZE = (299, 299)
#: The ImageNet weights (with the top) of `keras.applications.InceptionV3`, as Keras names,
#: fetches and checks them.
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + INCEPTION_WEIGHTS_FILE
)
INCEPTION_WEIGHTS_MD5 = "9a0d58056eeedaa3f26cb7ebd46da564"


class FeatureExtractor:
    """Base class: maps batches of images in [-1, 1] to features and probabilities.

    Subclasses set the attributes and implement `_forward`.

    Attributes:
        name: short name recorded in every result's protocol.
        input_shape: ``(H, W, C)`` the images must have, or None (any size; resized).
        resize: how images are resized before the network, for the protocol.
        feature_dim: D, the length of a feature vector.
        num_classes: C, the width of `probabilities`, or None.
        batch_size: default images per network call.
    """

    name = "extractor"
    input_shape = None
    resize = "none"
    feature_dim = None
    num_classes = None
    batch_size = 250

    def _forward(self, images, need_probs):
        """One batch: float32 ``(B, H, W, C)`` -> ``(features (B, D), probs (B, C) or None)``."""
        raise NotImplementedError

    def accepts(self, image_shape):
        """Whether images of ``(H, W, C)`` `image_shape` can go through this extractor."""
        return self.input_shape is None or tuple(image_shape) == tuple(self.input_shape)

    def prepare(self):
        """Makes sure the extractor can run, before any image is read: here, nothing
        (subclasses whose weights are found or fetched later check them here)."""

    def check(self, images, what="images", known_scale=False):
        """Checks images for this extractor (float, finite, [-1, 1] scale, shape); returns float32.

        See `ganzoo.metrics._checks.images` for `known_scale`.
        """
        return _checks.images(images, what, shape=self.input_shape, known_scale=known_scale)

    def __call__(self, images, need_probs=False, known_scale=False):
        """Features (and probabilities) of one batch.

        Args:
            images: float ``(B, H, W, C)`` in [-1, 1]. Their scale is decided
                from the batch's range (`ganzoo.image_scale`): a batch with no
                value below 0 is the [0, 1] scale and refused.
            need_probs: also return class probabilities.
            known_scale: the images are [-1, 1] by construction (generated,
                or from `ganzoo.data.load`, or a batch of images checked as a
                whole): only values outside [-1, 1] are refused.

        Returns:
            ``(features float32 (B, D), probs float32 (B, C) or None)``.
        """
        if need_probs and self.num_classes is None:
            raise ValueError(
                f"The extractor {self.name!r} gives no class probabilities. "
                f"Received: need_probs={need_probs}"
            )
        feats, probs = self._forward(self.check(images, known_scale=known_scale), need_probs)
        feats = np.asarray(feats, dtype=np.float32)
        if not np.all(np.isfinite(feats)):
            raise ValueError(
                f"The extractor {self.name!r} produced non-finite features. Received: "
                f"{int(np.size(feats) - np.count_nonzero(np.isfinite(feats)))} bad values"
            )
        return feats, (None if probs is None else np.asarray(probs, dtype=np.float32))

    def features(self, images, batch_size=None):
        """Features ``(N, D)`` float32 of images ``(N, H, W, C)`` in [-1, 1]."""
        return self._batched(images, batch_size, False)[0]

    def probabilities(self, images, batch_size=None):
        """Class probabilities ``(N, C)`` float32 of images ``(N, H, W, C)`` in [-1, 1]."""
        return self._batched(images, batch_size, True)[1]

    def features_and_probabilities(self, images, batch_size=None):
        """``(features (N, D), probabilities (N, C))`` from one pass over the images."""
        return self._batched(images, batch_size, True)

    def _batched(self, images, batch_size, need_probs):
        # `batch_size` images per call and the remainder in the last one: any N works
        # (a prime N too), and the compiled networks take any batch size without retracing.
        batch_size = _checks.positive_int("batch_size", batch_size or self.batch_size)
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[0] == 0:
            raise ValueError(f"images must have shape (N, H, W, C). Received: shape={images.shape}")
        images = self.check(images)  # the scale is decided on all the images, not per batch
        feats, probs = [], []
        for start in range(0, images.shape[0], batch_size):
            f, p = self(images[start : start + batch_size], need_probs, known_scale=True)
            feats.append(f)
            probs.append(p)
        return np.concatenate(feats), (np.concatenate(probs) if need_probs else None)

    def protocol(self):
        """What to record with each number computed from this extractor."""
        return {
            "extractor": self.name,
            "feature_dim": self.feature_dim,
            "num_classes": self.num_classes,
            "resize": self.resize,
        }


# --------------------------------------------------------------------------- offline classifiers


def classifier_dir(folder=paths.MNIST_CLASSIFIER):
    """``<saved models>/<folder>``: under ``$GANZOO_SAVED_MODELS`` (the registry's
    folder) if it holds one, else in this checkout's ``saved_models/``."""
    configured = pathlib.Path(paths.SAVED_MODELS_DIR) / folder
    if (configured / paths.CARD).is_file():
        return configured
    return paths.CHECKOUT_SAVED_MODELS_DIR / folder


def default_classifier_dir():
    """The MNIST classifier's folder (see `classifier_dir`)."""
    return classifier_dir(paths.MNIST_CLASSIFIER)


def _train_command(folder):
    data = "twemoji" if folder == paths.TWEMOJI_CLASSIFIER else "mnist_5k"
    return f"python -m ganzoo.metrics.train_classifier --data {data} --out saved_models/{folder}"


def read_model_card(directory=None, folder=paths.MNIST_CLASSIFIER):
    """A classifier's model card (dict), from `directory` or the default location of `folder`."""
    directory = pathlib.Path(directory) if directory is not None else classifier_dir(folder)
    card_path = directory / paths.CARD
    if not card_path.is_file():
        raise ValueError(
            f"No {paths.CARD} in the classifier directory; train it with "
            f"`{_train_command(folder)}`. Received: directory={str(directory)!r}"
        )
    try:
        return json.loads(card_path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{card_path} is not valid JSON ({e}). Received: {str(card_path)!r}") from e


def load_classifier(directory=None, folder=paths.MNIST_CLASSIFIER):
    """Loads a shipped offline classifier after checking its sha256 against its model card.

    Args:
        directory: folder holding ``model_card.json`` and the weights file it
            names; default ``saved_models/<folder>``.
        folder: the classifier's folder name under ``saved_models/``
            (`paths.MNIST_CLASSIFIER` or `paths.TWEMOJI_CLASSIFIER`).

    Returns:
        ``(model, card)``: the uncompiled `keras.Model` (images in [-1, 1] ->
        softmax probabilities) and the model card dict.

    Raises:
        ValueError: missing files, or weights whose sha256 differs from the card's
            (a corrupted or tampered file is never loaded).
    """
    import keras

    directory = pathlib.Path(directory) if directory is not None else classifier_dir(folder)
    card = read_model_card(directory, folder)
    try:
        weights = card["weights"]["file"]
        expected = card["weights"]["sha256"]
    except (KeyError, TypeError) as e:
        raise ValueError(
            f"The model card must name the weights file and its sha256 under 'weights'. "
            f"Received: keys={sorted(card) if isinstance(card, dict) else card!r}"
        ) from e
    path = directory / weights
    if not path.is_file():
        raise ValueError(f"The classifier weights are missing. Received: {str(path)!r}")
    actual = sha256_of(path)
    if actual != expected:
        raise ValueError(
            f"The sha256 of {path} does not match its model card ({expected}): the file is "
            f"corrupted or was modified; restore it or retrain with `{_train_command(folder)}`. "
            f"Received: sha256={actual}"
        )
    model = keras.models.load_model(path, compile=False)
    return model, card


def load_mnist_classifier(directory=None):
    """`load_classifier` of the MNIST classifier (28x28x1 -> 10 digits)."""
    return load_classifier(directory, paths.MNIST_CLASSIFIER)


class ClassifierExtractor(FeatureExtractor):
    """Features and probabilities of a shipped offline classifier.

    Subclasses set `name`, `folder` and `input_shape`.

    Args:
        directory: the classifier folder (default ``saved_models/<folder>``).
    """

    folder = None

    def __init__(self, directory=None):
        import keras

        model, self.card = load_classifier(directory, self.folder)
        self._net = keras.Model(
            model.inputs[0], [model.get_layer(FEATURE_LAYER).output, model.outputs[0]]
        )
        self.feature_dim = int(model.get_layer(FEATURE_LAYER).output.shape[-1])
        self.num_classes = int(model.outputs[0].shape[-1])

    def _forward(self, images, need_probs):
        feats, probs = inference.compiled(self._net)(images)
        return feats.numpy(), (probs.numpy() if need_probs else None)

    def protocol(self):
        out = super().protocol()
        out.update(
            {
                "feature_layer": f"{FEATURE_LAYER} (penultimate, ReLU)",
                "classifier_test_accuracy": self.card.get("test_accuracy"),
                "classifier_sha256": self.card["weights"]["sha256"],
            }
        )
        return out


class MNISTClassifierExtractor(ClassifierExtractor):
    """The shipped offline MNIST classifier (28x28x1 digits, 64-d features, 10 classes).

    Args:
        directory: the classifier folder (default ``saved_models/mnist_classifier``).
    """

    name = MNIST_CLASSIFIER_NAME
    folder = paths.MNIST_CLASSIFIER
    input_shape = (28, 28, 1)
    resize = "none (native 28x28x1)"


class TwemojiClassifierExtractor(ClassifierExtractor):
    """The shipped offline Twemoji group classifier (32x32x3, 128-d features, 9 groups).

    ganzoo trains it on ``twemoji:train`` (`ganzoo.metrics.train_classifier`,
    ``--data twemoji``). 64x64x3 images (``dcgan_celeba64`` on Twemoji) are
    averaged over 2x2 blocks to 32x32 first: the same area filter the source
    applies (box 72 -> 64 then 2x2 means is box 72 -> 32 up to rounding).
    Its numbers compare only with numbers from this extractor: none of them is
    comparable with the InceptionV3 numbers of the literature.

    Args:
        directory: the classifier folder (default ``saved_models/twemoji_classifier``).
    """

    name = TWEMOJI_CLASSIFIER_NAME
    folder = paths.TWEMOJI_CLASSIFIER
    input_shape = (32, 32, 3)
    accepted_shapes = ((32, 32, 3), (64, 64, 3))
    resize = "none at 32x32x3; 64x64x3 averaged over 2x2 blocks to 32x32"

    def accepts(self, image_shape):
        return tuple(image_shape) in self.accepted_shapes

    def check(self, images, what="images", known_scale=False):
        shape = tuple(np.shape(images)[1:])
        expected = shape if shape in self.accepted_shapes else self.input_shape
        return _checks.images(images, what, shape=expected, known_scale=known_scale)

    def _forward(self, images, need_probs):
        if images.shape[1] == 64:
            images = images.reshape(-1, 32, 2, 32, 2, 3).mean(axis=(2, 4))
        return super()._forward(images, need_probs)


# --------------------------------------------------------------------------- InceptionV3


def inception_preprocess(images):
    """Images in [-1, 1] -> InceptionV3 input: bilinear resize to 299x299, gray -> RGB.

    Args:
        images: float ``(B, H, W, C)`` in [-1, 1], C in {1, 3}.

    Returns:
        float32 tensor ``(B, 299, 299, 3)`` in [-1, 1].
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(images, tf.float32)
    if x.shape[-1] not in (1, 3):
        raise ValueError(f"InceptionV3 takes gray or RGB images. Received: {x.shape[-1]} channels")
    if tuple(x.shape[1:3]) != INCEPTION_SIZE:
        x = tf.image.resize(x, INCEPTION_SIZE, method="bilinear", antialias=False)
    if x.shape[-1] == 1:
        x = tf.repeat(x, 3, axis=-1)
    return tf.clip_by_value(x, -1.0, 1.0)


def keras_home():
    """The Keras folder, by Keras' own rule: ``$KERAS_HOME`` if set, else ``~/.keras``
    (``/tmp/.keras`` when the home folder is not writable); read at each call."""
    if "KERAS_HOME" in os.environ:
        return pathlib.Path(os.environ["KERAS_HOME"])
    home = os.path.expanduser("~")
    return pathlib.Path(home if os.access(home, os.W_OK) else "/tmp") / ".keras"


def inception_weights():
    """The path of InceptionV3's ImageNet weights, fetched into the Keras cache if missing.

    Looked for as `INCEPTION_WEIGHTS_FILE` in ``<keras_home()>/models`` (and in
    ``/tmp/.keras/models``, where Keras downloads when the Keras folder is not
    writable); if absent, downloaded there once by `keras.utils.get_file` (md5
    checked).

    Returns:
        A `pathlib.Path` to the ``.h5`` file.

    Raises:
        FileNotFoundError: the file is missing and could not be downloaded (no
            network): one line naming the file, the folder it belongs in and
            where to get it.
    """
    import keras

    home = keras_home()
    folder = home / "models"
    looked = [folder] + ([pathlib.Path("/tmp/.keras/models")] if not os.access(home, os.W_OK) else [])
    for candidate in looked:
        if (candidate / INCEPTION_WEIGHTS_FILE).is_file():
            return candidate / INCEPTION_WEIGHTS_FILE
    try:
        return pathlib.Path(keras.utils.get_file(
            INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_URL, cache_subdir="models", cache_dir=str(home),
            file_hash=INCEPTION_WEIGHTS_MD5,
        ))
    except Exception as e:  # noqa: BLE001 - Keras reports a failed fetch as a bare Exception
        reason = " ".join(str(e).split())
        setting = os.environ.get("KERAS_HOME")
        raise FileNotFoundError(
            f"InceptionV3's ImageNet weights are missing: no {INCEPTION_WEIGHTS_FILE} in {folder} "
            f"(the Keras cache: $KERAS_HOME/models, else ~/.keras/models), and downloading them "
            f"failed ({reason[:300]}). On a machine with a network, download {INCEPTION_WEIGHTS_URL} "
            f"and copy it into {folder}. Received: KERAS_HOME="
            + (repr(setting) if setting is not None else "unset")
        ) from e


class InceptionV3Extractor(FeatureExtractor):
    """2048-d pool3 features (and 1000-way ImageNet probabilities) of InceptionV3.

    One network, InceptionV3 with its top, gives the features (its ``avg_pool``
    layer) and the probabilities in a single call. Its ImageNet weights are
    found (or fetched once) by `prepare`, which an evaluation calls before it
    reads any image; the network is built from them at the first call and then
    serves every call of this extractor.
    """

    name = INCEPTION_NAME
    input_shape = None
    resize = "bilinear to 299x299 (tf.image.resize, no antialias); gray repeated to RGB"
    feature_dim = 2048
    num_classes = 1000
    batch_size = 32

    def __init__(self):
        self._net = None
        self._weights = None

    def prepare(self):
        """Finds the ImageNet weights (`inception_weights`); returns their path.

        Raises:
            FileNotFoundError: they are missing and cannot be downloaded.
        """
        if self._weights is None:
            self._weights = inception_weights()
        return self._weights

    def _network(self):
        """``299x299x3 -> [pool3 features, probabilities]``, built at the first call only."""
        import keras

        if self._net is None:
            full = keras.applications.InceptionV3(include_top=True, weights=str(self.prepare()))
            self._net = keras.Model(
                full.inputs[0], [full.get_layer("avg_pool").output, full.outputs[0]]
            )
        return self._net

    def _forward(self, images, need_probs):
        # The resize runs inside the same compiled function as the network.
        feats, probs = inference.compiled(self._network(), inception_preprocess)(images)
        return feats.numpy(), (probs.numpy() if need_probs else None)

    def protocol(self):
        out = super().protocol()
        out.update(
            {"feature_layer": "pool3 (avg_pool, 2048)", "weights": "imagenet (keras.applications)"}
        )
        return out


# --------------------------------------------------------------------------- lookup

EXTRACTORS = {
    MNIST_CLASSIFIER_NAME: MNISTClassifierExtractor,
    TWEMOJI_CLASSIFIER_NAME: TwemojiClassifierExtractor,
    INCEPTION_NAME: InceptionV3Extractor,
}


def is_twemoji(data):
    """Whether a `ganzoo.data.load` source names the Twemoji set ("twemoji[:split]")."""
    return isinstance(data, str) and (data == "twemoji" or data.startswith("twemoji:"))


def auto_name(image_shape, data=None):
    """The extractor "auto" resolves to.

    Args:
        image_shape: ``(H, W, C)`` of the images.
        data: the reference source, if known.

    Returns:
        "mnist_5k_classifier" for (28, 28, 1); "twemoji_classifier" for
        Twemoji data at 32x32x3 or 64x64x3; "inception_v3" otherwise.
    """
    shape = tuple(image_shape)
    if shape == (28, 28, 1):
        return MNIST_CLASSIFIER_NAME
    if is_twemoji(data) and shape in TwemojiClassifierExtractor.accepted_shapes:
        return TWEMOJI_CLASSIFIER_NAME
    return INCEPTION_NAME


def get_extractor(extractor="auto", image_shape=None, data=None):
    """Resolves an extractor name.

    Args:
        extractor: "auto", "mnist_5k_classifier", "twemoji_classifier",
            "inception_v3", or a `FeatureExtractor` instance (returned as is).
        image_shape: ``(H, W, C)`` of the images, used by "auto" (`auto_name`).
        data: the reference source, used by "auto": Twemoji data gets the
            offline Twemoji classifier.

    Returns:
        A `FeatureExtractor`.
    """
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if extractor == "auto":
        if image_shape is None:
            raise ValueError('extractor="auto" needs the image shape. Received: image_shape=None')
        extractor = auto_name(image_shape, data)
    if extractor not in EXTRACTORS:
        raise ValueError(
            f"Unknown extractor; expected 'auto', one of {sorted(EXTRACTORS)} or a "
            f"FeatureExtractor. Received: extractor={extractor!r}"
        )
    return EXTRACTORS[extractor]()
