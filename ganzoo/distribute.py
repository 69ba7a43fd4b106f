"""Distribution strategies and precision policies by name (``ganzoo train --strategy/--precision``).

Strategies: ``default`` (whatever is current, usually one device),
``one_device``, ``mirrored`` (all local GPUs, or CPUs), ``multi_worker``
(`tf.distribute.MultiWorkerMirroredStrategy`, cluster from ``TF_CONFIG``) and
``tpu`` / ``tpu:ADDRESS`` (`tf.distribute.TPUStrategy` through a
`TPUClusterResolver`). Precision policies: ``float32``, ``mixed_float16``
(dynamic loss scaling on both optimizers, see `ganzoo.GAN.compile`) and
``mixed_bfloat16``.

Below them, the replica plumbing of a training step (`num_replicas`,
`replica_mean`, `replica_draw`, `scale_for_replicas`) and BatchNorm under
more than one replica (`synchronize_batchnorm`,
`average_batchnorm_statistics`).
"""

import json
import os
import socket
import urllib.parse

import keras
import tensorflow as tf

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu[:ADDRESS]")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def _check_reachable(address, timeout=5.0):
    """Fails fast with a clear error when a grpc://host:port TPU address does not answer."""
    parsed = urllib.parse.urlparse(address)
    if parsed.scheme != "grpc" or not parsed.hostname or not parsed.port:
        return
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout):
            pass
    except OSError as e:
        raise ValueError(
            f"Could not reach the TPU at {address} ({e.strerror or e}). Check the address and "
            f"that the TPU worker is running. Received: strategy='tpu:{address}'"
        ) from None


def get_strategy(name="default"):
    """A `tf.distribute.Strategy` from its name.

    Create it before any other TensorFlow op (multi-worker and TPU strategies
    require that).

    Args:
        name: one of `STRATEGIES`.

    Returns:
        The strategy.

    Raises:
        ValueError: for an unknown name or an unreachable TPU.
    """
    name = (name or "default").strip()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        device = "/gpu:0" if tf.config.list_logical_devices("GPU") else "/cpu:0"
        return tf.distribute.OneDeviceStrategy(device)
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu" or name.startswith("tpu:"):
        address = name[4:] if name.startswith("tpu:") else ""
        _check_reachable(address)
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as e:
            raise ValueError(
                f"Could not connect to a TPU: {e}. Received: strategy={name!r}"
            ) from None
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Unknown strategy. Expected one of {list(STRATEGIES)}. Received: strategy={name!r}")


def set_precision(policy="float32"):
    """Sets Keras' global dtype policy. Call before building the model."""
    if policy not in PRECISIONS:
        raise ValueError(
            f"Unknown precision policy. Expected one of {list(PRECISIONS)}. Received: precision={policy!r}"
        )
    keras.mixed_precision.set_global_policy(policy)


def task_id():
    """(type, index) of this process in a ``TF_CONFIG`` cluster, or (None, 0)."""
    task = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}").get("task", {})
    return task.get("type"), int(task.get("index", 0))


def is_chief():
    """True for the process that writes checkpoints, samples and logs: the
    ``chief`` task, or worker 0 of a cluster without one, or a single process."""
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}").get("cluster", {})
    kind, index = task_id()
    if kind is None or kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in cluster


# --- inside a training step ---------------------------------------------------


def num_replicas():
    """Replicas of the current strategy (1 outside any strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def on_cpus():
    """True when every device of the current strategy is a CPU."""
    devices = tf.distribute.get_strategy().extended.worker_devices
    return all("CPU" in d.upper() for d in devices)


def on_accelerator_free_host():
    """True when TensorFlow sees neither a GPU nor a TPU."""
    return not (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


def is_multi_worker():
    """True under a `tf.distribute.MultiWorkerMirroredStrategy`."""
    return isinstance(
        tf.distribute.get_strategy(),
        (tf.distribute.MultiWorkerMirroredStrategy, tf.distribute.experimental.MultiWorkerMirroredStrategy),
    )


def replica_mean(value):
    """Mean of `value` over the replicas (identity on one device or outside a replica context)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return value
    return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, value)


def replica_draw(draw, batch):
    """`draw(global_batch)`, then this replica's slice of it.

    Every replica holds the same SeedGenerator state, so each draws the same
    global sample and keeps its own rows: replicas get independent noise, and
    N replicas see exactly the noise of one device.

    Args:
        draw: callable ``n -> Tensor (n, ...)``.
        batch: this replica's batch size (int or int32 scalar Tensor).

    Returns:
        Tensor ``(batch, ...)``.
    """
    replicas = num_replicas()
    if replicas == 1:
        return draw(batch)
    values = draw(batch * replicas)
    replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
    return values[replica_id * batch : (replica_id + 1) * batch]


def scale_for_replicas(loss):
    """`loss` divided by the replica count: `apply` sums the replicas' gradients, and each
    replica's loss is the mean over its own equal slice, so the sum is the global mean's."""
    replicas = num_replicas()
    return loss / replicas if replicas > 1 else loss


def batchnorm_layers(*networks):
    """Every `keras.layers.BatchNormalization` inside `networks`, nested layers included."""
    return [layer for net in networks for layer in net._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def synchronize_batchnorm(*networks):
    """Makes every BatchNorm of `networks` normalize by the statistics of all replicas."""
    for layer in batchnorm_layers(*networks):
        layer.synchronized = True


def average_batchnorm_statistics(*networks):
    """Moving mean and variance of every unsynchronized BatchNorm := their replica mean.

    Exact for the mean; the variance becomes the mean of the per-replica
    variances. Call in a replica context, once per step.
    """
    stats = [v for layer in batchnorm_layers(*networks) if not layer.synchronized
             for v in (layer.moving_mean, layer.moving_variance)]
    if not stats:
        return
    context = tf.distribute.get_replica_context()
    means = context.all_reduce(tf.distribute.ReduceOp.MEAN, [tf.identity(v.value) for v in stats])
    for v, mean in zip(stats, means):
        v.assign(mean)


def resolve_jit_compile(jit_compile):
    """`GAN.compile`'s ``jit_compile`` for the current strategy: True or False.

    "auto" turns XLA off on CPUs, where TensorFlow's oneDNN kernels were faster
    than XLA for every MNIST entry (``benchmarks/README.md``), and on for a
    single GPU or TPU replica.

    Raises:
        ValueError: True under a multi-replica strategy on CPUs, where XLA fails.
    """
    if jit_compile == "auto":
        return num_replicas() == 1 and not on_accelerator_free_host()
    if jit_compile and num_replicas() > 1 and on_cpus():
        raise ValueError(
            "XLA (jit_compile=True, --xla on) fails under a multi-replica strategy on CPUs "
            "(TensorFlow cannot place the compiled step's resources across CPU "
            "devices); use jit_compile='auto' or False (--xla auto/off). Received: jit_compile=True "
            f"with {num_replicas()} CPU replicas"
        )
    return jit_compile
