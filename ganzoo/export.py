"""Export to TensorFlow Serving: versioned SavedModels with generation signatures.

`export_saved_model(gan, "serving/dcgan_mnist")` writes
``serving/dcgan_mnist/<version>/`` — the layout a TensorFlow model server
polls — and returns that version directory. The SavedModel holds three
signatures, all with method name ``tensorflow/serving/predict``:

- ``serving_default``: ``z`` float32 (batch, latent_dim) [+ ``labels`` int32
  (batch,)] -> ``images`` float32 (batch, H, W, C) in [-1, 1].
- ``generate``: ``num`` int32 (), ``seed`` int64 () -> ``images`` float32
  (num, H, W, C), ``images_uint8`` uint8 (num, H, W, C), ``png_bytes`` string
  (num,) (one PNG file per image) [+ ``labels`` int32 (num,)].
- ``discriminate``: ``images`` float32 (batch, H, W, C) [+ ``labels`` int32
  (batch,)] -> ``logits`` float32 (batch, 1).

(``labels`` only for conditional models.) ``generate(num, seed)`` returns
exactly ``gan.generate(num, seed)``: the same stateless latent vectors
(`ganzoo.sampling.latent`) and, for conditional models, the same default labels
``arange(num) % num_classes`` (`ganzoo.sampling.default_labels`), computed by
the same functions inside the graph. ``serving_default`` and ``generate`` run
the sampling generator (the EMA generator when the model has one). Every
signature checks every input of its request inside the graph
(`ganzoo.export_checks`), in this order: the rank and fixed dimensions
(``z`` (batch, latent_dim), images (batch, H, W, C), labels (batch,), ``num``
and ``seed`` scalars), then a batch or ``num`` in [1, max_num] and one label
per item, then the values (``z`` and images finite, images in [-1, 1] up to
`ganzoo.image_scale.MARGIN`, labels in [0, num_classes)). A bad request fails
with INVALID_ARGUMENT naming the input, before any large tensor is allocated.

Each version directory also holds ``assets.extra/tf_serving_warmup_requests``:
one `PredictionLog` record per signature, which the model server replays
before it marks the version available, so the first real request does not pay
for graph optimization.

An export is written to a hidden temporary directory beside the version
directories (TF Serving ignores names that are not integers) and renamed into
place only when complete; an interrupted export leaves no version behind.
"""

import errno
import os
import pathlib
import re
import shutil
import tempfile

from ganzoo.validation import check_int

SIGNATURE_METHOD = "tensorflow/serving/predict"
SIGNATURES = ("serving_default", "generate", "discriminate")
# TF Serving's REST API base64-encodes a string output ({"b64": ...}) only when
# its key ends in "_bytes"; any other key would put raw PNG bytes into the JSON.
PNG_OUTPUT = "png_bytes"
WARMUP_FILE = pathlib.Path("assets.extra") / "tf_serving_warmup_requests"
MODELS_CONFIG = "models.config"
DEFAULT_MAX_NUM = 1024
SERVING_API_REQUIREMENT = "tensorflow-serving-api>=2.16,<3"

_TMP_PREFIX = ".tmp-export-"
_OLD_PREFIX = ".tmp-replaced-"
_MODEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


# --- versions ---------------------------------------------------------------


def list_versions(model_dir):
    """The exported versions in a model directory, sorted.

    Args:
        model_dir: the ``<base>/<name>`` directory of one served model.

    Returns:
        list of int: the names of its integer subdirectories holding a
        ``saved_model.pb`` (temporary directories of running or interrupted
        exports are ignored, as TF Serving ignores them).
    """
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return []
    versions = []
    for child in model_dir.iterdir():
        if child.name.isdigit() and child.is_dir() and (child / "saved_model.pb").is_file():
            versions.append(int(child.name))
    return sorted(versions)


def _taken_versions(model_dir):
    # Any integer entry blocks a version number, even one without a SavedModel.
    return sorted(int(c.name) for c in model_dir.iterdir() if c.name.isdigit())


def check_model_name(name):
    """Raises a ValueError unless `name` is usable as a TF Serving model name.

    The name appears in REST URLs (``/v1/models/<name>:predict``) and is a
    directory name, so it is limited to letters, digits, ``_``, ``.`` and
    ``-``, not starting with ``.`` or ``-``.
    """
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise ValueError(
            "A served model name must be letters, digits, '_', '.' or '-' and start "
            f"with a letter, digit or '_'. Received: name={name!r}"
        )
    return name


# --- the SavedModel ---------------------------------------------------------


def _to_uint8(images):
    """Float images in [-1, 1] -> uint8, like `ganzoo.images.to_uint8`."""
    import tensorflow as tf

    scaled = tf.round((images + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(scaled, 0.0, 255.0), tf.uint8)


def build_archive(gan, max_num=DEFAULT_MAX_NUM):
    """A `keras.export.ExportArchive` holding the three serving signatures.

    Args:
        gan: a `ganzoo.GAN`.
        max_num: the largest batch (and ``num``) any signature accepts.

    Returns:
        The archive, ready for ``write_out(path, verbose=False)``.
    """
    import keras
    import tensorflow as tf

    from ganzoo import export_checks, sampling

    generator = gan.sampling_generator
    discriminator = gan.discriminator
    latent_dim = int(gan.latent_dim)
    image_shape = tuple(int(d) for d in gan.image_shape)
    num_classes = gan.num_classes
    conditional = num_classes is not None

    def run_generator(z, labels):
        inputs = z if labels is None else [z, labels]
        return tf.cast(generator(inputs, training=False), tf.float32)

    def run_discriminator(images, labels):
        inputs = images if labels is None else [images, labels]
        return tf.cast(discriminator(inputs, training=False), tf.float32)

    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    images_spec = tf.TensorSpec([None, *image_shape], tf.float32, name="images")
    labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

    def checked(x, name, dims, meaning, labels, values):
        """`x` (and `labels`) after `export_checks`: shapes first, then sizes, then values."""
        chain = export_checks.Chain(max_num)
        chain.shape(x, name, dims, meaning)
        if labels is not None:
            chain.shape(labels, "labels", (None,), "(batch,)")
        chain.batch(x, name)
        if labels is not None:
            chain.one_label_per_item(labels, x, "labels", name)
        values(chain, x)
        if labels is None:
            return chain.guard(x), None
        chain.class_ids(labels, "labels", num_classes)
        return chain.guard(x, labels)

    def z_values(chain, z):
        chain.finite(z, "z")

    def image_values(chain, images):
        chain.finite(images, "images")
        chain.signed_range(images, "images")

    def serving_default(z, labels=None):
        z, labels = checked(z, "z", (None, latent_dim), "(batch, latent_dim)", labels, z_values)
        return {"images": run_generator(z, labels)}

    def discriminate(images, labels=None):
        images, labels = checked(images, "images", (None, *image_shape), "(batch, H, W, C)", labels,
                                 image_values)
        return {"logits": run_discriminator(images, labels)}

    if conditional:
        z_signature = [z_spec, labels_spec]
        images_signature = [images_spec, labels_spec]
    else:
        z_signature = [z_spec]
        images_signature = [images_spec]

    def generate(num, seed):
        chain = export_checks.Chain(max_num)
        chain.shape(num, "num", (), "one int32 number")
        chain.shape(seed, "seed", (), "one int64 number")
        chain.count(num, "num")
        num, seed = chain.guard(num, seed)
        # The protocol of GAN.generate(num, seed), on tensors.
        z = sampling.latent(num, latent_dim, seed)
        labels = sampling.default_labels(num, num_classes)
        images = run_generator(z, labels)
        images_uint8 = _to_uint8(images)
        png = tf.map_fn(tf.io.encode_png, images_uint8, fn_output_signature=tf.string)
        outputs = {"images": images, "images_uint8": images_uint8, PNG_OUTPUT: png}
        if conditional:
            outputs["labels"] = labels
        return outputs

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.track(discriminator)
    # serving_default first: write_out then uses it as is.
    archive.add_endpoint("serving_default", serving_default, input_signature=z_signature)
    archive.add_endpoint(
        "generate",
        generate,
        input_signature=[
            tf.TensorSpec([], tf.int32, name="num"),
            tf.TensorSpec([], tf.int64, name="seed"),
        ],
    )
    archive.add_endpoint("discriminate", discriminate, input_signature=images_signature)
    return archive


# --- warm-up requests ---------------------------------------------------------


def _serving_api():
    """The tensorflow-serving-api proto modules, or a ValueError saying how to get them."""
    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
        from tensorflow_serving.config import model_server_config_pb2
    except ImportError as e:
        raise ValueError(
            "TF Serving warm-up requests and models.config need the protos of the "
            f"tensorflow-serving-api package: pip install '{SERVING_API_REQUIREMENT}' "
            f"(or export with warmup=False / --no-warmup). Received: ImportError: {e}"
        ) from None
    return model_pb2, predict_pb2, prediction_log_pb2, model_server_config_pb2


def warmup_inputs(gan):
    """The inputs of the warm-up request of each signature: {signature: {key: array}}."""
    import numpy as np

    z = np.asarray(gan.latent(1, 0), dtype="float32")
    images = np.zeros((1, *gan.image_shape), dtype="float32")
    requests = {
        "serving_default": {"z": z},
        "generate": {"num": np.int32(1), "seed": np.int64(0)},
        "discriminate": {"images": images},
    }
    if gan.num_classes is not None:
        requests["serving_default"]["labels"] = np.zeros((1,), dtype="int32")
        requests["discriminate"]["labels"] = np.zeros((1,), dtype="int32")
    return requests


def warmup_records(gan, model_name):
    """Serialized `tensorflow.serving.PredictionLog` records, one per signature."""
    import tensorflow as tf

    model_pb2, predict_pb2, prediction_log_pb2, _ = _serving_api()
    records = []
    for signature, inputs in warmup_inputs(gan).items():
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
        )
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        log = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)
        )
        records.append(log.SerializeToString())
    return records


def _write_warmup(gan, version_dir, model_name):
    import tensorflow as tf

    path = pathlib.Path(version_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in warmup_records(gan, model_name):
            writer.write(record)
    return path


# --- export -----------------------------------------------------------------


def _write_export(gan, directory, max_num, warmup, model_name):
    """Writes the complete SavedModel (and warm-up file) into `directory`."""
    build_archive(gan, max_num=max_num).write_out(str(directory), verbose=False)
    if warmup:
        _write_warmup(gan, directory, model_name)


def _place(tmp, model_dir, version, overwrite):
    """Renames the finished export `tmp` to its version directory; returns it."""
    if version is None:
        for _ in range(100):  # another export may take the number first
            taken = _taken_versions(model_dir)
            target = model_dir / str(taken[-1] + 1 if taken else 1)
            try:
                os.rename(tmp, target)
                return target
            except OSError as e:
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not target.exists():
                    raise
        raise FileExistsError(
            "Could not find a free version number after 100 tries (are many exports "
            f"running at once?). Received: {model_dir}"
        )
    target = model_dir / str(version)
    if not target.exists():
        try:
            os.rename(tmp, target)
            return target
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    if not overwrite:
        raise FileExistsError(
            f"Version {version} of this model exists; pick another --version, omit it "
            f"for the next free one, or pass overwrite=True (--overwrite). Received: {target}"
        )
    old = pathlib.Path(tempfile.mkdtemp(prefix=_OLD_PREFIX, dir=model_dir))
    os.rename(target, old / "v")
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old / "v", target)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return target


def export_saved_model(
    gan, base_dir, version=None, overwrite=False, max_num=DEFAULT_MAX_NUM, warmup=True
):
    """Exports a GAN as a versioned SavedModel for TensorFlow Serving.

    Args:
        gan: a `ganzoo.GAN` (the EMA generator is exported when it has one).
        base_dir: the model's directory, ``<serving root>/<model name>``; its
            last component is the model name used in the warm-up requests.
            Created if missing.
        version: positive int, or None for the next free version (1 for a
            new model).
        overwrite: replace `version` if it exists (otherwise FileExistsError).
            A server that already loaded that version keeps serving the old
            one: prefer a new version number.
        max_num: the largest ``num`` of ``generate`` and the largest batch of
            the other signatures; larger requests fail with INVALID_ARGUMENT.
        warmup: write ``assets.extra/tf_serving_warmup_requests`` (needs the
            tensorflow-serving-api package).

    Returns:
        `pathlib.Path` of the version directory written
        (``<base_dir>/<version>``, holding ``saved_model.pb``).

    Raises:
        ValueError: for a bad argument, or warmup=True without
            tensorflow-serving-api.
        FileExistsError: if `version` exists and `overwrite` is False.

    Example:

    ```python
    gan = ganzoo.create_model("dcgan_mnist")
    path = ganzoo.export.export_saved_model(gan, "serving/dcgan_mnist")
    # serving/dcgan_mnist/1
    ```
    """
    from ganzoo.models.gan import GAN

    if not isinstance(gan, GAN):
        raise ValueError(f"Expected a ganzoo.GAN to export. Received: gan={gan!r}")
    if version is not None:
        version = check_int(version, "version", 1, expected="an integer >= 1", quote=False)
    max_num = check_int(max_num, "max_num", 1, expected="an integer >= 1", quote=False)
    if max_num > 2**31 - 1:
        raise ValueError(f"max_num must fit in int32. Received: max_num={max_num!r}")
    model_dir = pathlib.Path(base_dir).expanduser()
    model_name = check_model_name(model_dir.resolve().name)
    if warmup:
        _serving_api()  # fail before any work if the protos are missing
    if model_dir.exists() and not model_dir.is_dir():
        raise FileExistsError(
            f"The model directory is an existing file. Received: base_dir={str(base_dir)!r}"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    if version is not None and (model_dir / str(version)).exists() and not overwrite:
        raise FileExistsError(
            f"Version {version} of this model exists; pick another --version, omit it "
            f"for the next free one, or pass overwrite=True (--overwrite). "
            f"Received: {model_dir / str(version)}"
        )
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=model_dir))
    try:
        _write_export(gan, tmp, max_num, warmup, model_name)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the server may run as another user
        return _place(tmp, model_dir, version, overwrite)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --- models.config ------------------------------------------------------------


def served_models(root):
    """Names of the models under a serving root: subdirectories with an exported version."""
    root = pathlib.Path(root)
    if not root.is_dir():
        return []
    return sorted(
        c.name
        for c in root.iterdir()
        if c.is_dir() and _MODEL_NAME.fullmatch(c.name) and list_versions(c)
    )


def models_config_text(names, root, base_path=None):
    """The ModelServerConfig text for serving `names` from one model server.

    Args:
        names: model names (directories under `root`).
        root: the serving root holding ``<name>/<version>/``.
        base_path: the root as the server sees it (e.g. ``/models`` inside a
            container); default: the absolute path of `root`.

    Returns:
        str in protobuf text format, for ``tensorflow_model_server
        --model_config_file=...``.
    """
    from google.protobuf import text_format

    _, _, _, config_pb2 = _serving_api()
    prefix = str(base_path).rstrip("/") if base_path else str(pathlib.Path(root).resolve())
    config = config_pb2.ModelServerConfig()
    for name in names:
        check_model_name(name)
        config.model_config_list.config.add(
            name=name, base_path=f"{prefix}/{name}", model_platform="tensorflow"
        )
    return text_format.MessageToString(config)


def write_models_config(root, names=None, path=None, base_path=None):
    """Writes a ``models.config`` to serve several exported models from one server.

    Args:
        root: the serving root (the ``--out`` of ``ganzoo export``) holding
            ``<name>/<version>/saved_model.pb``.
        names: models to list; default: every model under `root` with at
            least one exported version.
        path: the file to write; default ``<root>/models.config``.
        base_path: the root as the server sees it (e.g. ``/models`` when
            `root` is mounted there in a container); default: the absolute
            path of `root`.

    Returns:
        `pathlib.Path` of the file written (atomically).

    Raises:
        ValueError: if there is no model to list, or a named model has no
            exported version under `root`.
    """
    root = pathlib.Path(root).expanduser()
    if names is None:
        names = served_models(root)
        if not names:
            raise ValueError(
                "No exported model under the serving root (export one first with "
                f"`ganzoo export SOURCE --out {root}`). Received: root={str(root)!r}"
            )
    names = list(names)
    for name in names:
        check_model_name(name)
        if not list_versions(root / name):
            raise ValueError(
                f"Model {name!r} has no exported version under the serving root. "
                f"Received: {root / name}"
            )
    text = models_config_text(names, root, base_path=base_path)
    path = pathlib.Path(path) if path is not None else root / MODELS_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".config", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
