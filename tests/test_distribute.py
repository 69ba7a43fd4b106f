"""tf.distribute and mixed precision on CPU.

Multi-replica runs need logical devices configured before TensorFlow starts,
so they run in subprocesses: 2 logical CPUs for MirroredStrategy, two worker
processes on localhost for MultiWorkerMirroredStrategy.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import keras
import tensorflow as tf

from conftest import as_dataset, real_batch, tiny_model

TESTS_DIR = str(pathlib.Path(__file__).parent)
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

_MIRRORED = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from conftest import as_dataset, real_batch, tiny_model

    SGD = {"name": "sgd", "learning_rate": 0.1}  # Adam's first step hides gradient scale

    def weights(gan):
        return [np.array(v.numpy()) for v in gan.generator.weights + gan.discriminator.weights]

    # Every small-data option at once: ADA (p moves every D step), R1, R2 (lazy: every 2nd D step,
    # which under a strategy is computed every step and its BatchNorm updates undone when not
    # due; a tf.cond there would hold synchronisation points), LeCam.
    SMALL_DATA = dict(augment={"name": "ada", "initial_p": 0.5, "interval": 1, "speed_images": 100},
                      r1_weight=1.0, r2_weight=1.0, penalty_interval=2, lecam_weight=0.5)

    def run(name, strategy):
        extra = SMALL_DATA if name.endswith("+small_data") else {}
        with strategy.scope():
            # BatchNorm is synchronized over replicas by default (no sync_batchnorm given).
            # Synchronized BN computes the variance in one pass (E[x^2] - E[x]^2), plain BN in
            # two; the one-device reference uses the same formula, because the chaotic
            # small-data run (SGD at lr 0.1 with R1 through BN) amplifies that rounding.
            if name.endswith("+unsync"):
                extra = {"sync_batchnorm": False}
            elif strategy is not mirrored:
                extra = {**extra, "sync_batchnorm": True}
            gan = tiny_model(name.split("+")[0], seed=5, **extra)
            # The one-device reference runs eagerly: the same math, one trace fewer.
            gan.compile(d_optimizer=SGD, g_optimizer=SGD, jit_compile=False,
                        run_eagerly=strategy is not mirrored)
        before = weights(gan)
        batch = real_batch(gan, per_step=4, seed=1)  # global batch: 4 images per D step
        history = gan.fit(as_dataset(batch), epochs=1, verbose=0)
        return before, weights(gan), {k: v[0] for k, v in history.history.items()}, gan

    report = {}
    mirrored = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
    def replica_spread(gan):
        # Largest difference between the two replicas' copies of any variable.
        variables = gan.weights + gan.d_optimizer.variables + gan.g_optimizer.variables
        return max(float(np.max(np.abs(np.array(a) - np.array(b))))
                   for a, b in (mirrored.experimental_local_results(v.value) for v in variables))

    for name in sys.argv[2].split(","):
        if name.endswith("+unsync"):
            gan = run(name, mirrored)[3]
            report[name] = {"replica_spread": replica_spread(gan)}
            continue
        w0, w1, m1, one = run(name, tf.distribute.get_strategy())
        _, w2, m2, gan = run(name, mirrored)
        if gan.augment is not None:
            report[name + ":p"] = {
                "one_device": float(one.augment.p.numpy()),
                "replicas": [float(v) for v in mirrored.experimental_local_results(gan.augment.p.value)],
                "anchors_one": one.regularizer("lecam").anchors.numpy().tolist(),
                "anchors_replicas": [np.array(v).tolist() for v in
                                     mirrored.experimental_local_results(gan.regularizer("lecam").anchors.value)],
            }
        report[name] = {
            "replicas": mirrored.num_replicas_in_sync,
            "max_weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(w1, w2)),
            "max_weight_change": max(float(np.max(np.abs(a - b))) for a, b in zip(w0, w1)),
            "metrics_one": m1, "metrics_two": m2,
            "d_iterations": int(np.array(gan.d_optimizer.iterations.numpy())),
            "replica_spread": replica_spread(gan),
        }
    if sys.argv[3] == "names_only":
        print("REPORT" + json.dumps(report))
        sys.exit(0)
    try:
        with mirrored.scope():
            tiny_model("dcgan_mnist", jit_compile=True)
        report["jit_error"] = None
    except ValueError as e:
        report["jit_error"] = str(e)
    with mirrored.scope():
        gan = tiny_model("wgan_gp_mnist")
    try:
        gan.fit(as_dataset(real_batch(gan, per_step=3)), epochs=1, verbose=0)  # 15 images
        report["batch_error"] = None
    except ValueError as e:
        report["batch_error"] = str(e)
    # A global batch known only at run time that does not divide over the replicas.
    def error_of(fit):
        try:
            fit()
            return None
        except ValueError as e:  # ganzoo's message; the failed in-graph assertion is its cause
            assert isinstance(e.__cause__, tf.errors.InvalidArgumentError), repr(e.__cause__)
            return str(e)

    dynamic = {}
    with mirrored.scope():  # DCGAN with 2 D steps: the smallest step that splits its batch
        gan = tiny_model("dcgan_mnist", jit_compile=False, d_steps=2)
    x = np.random.default_rng(0).uniform(-1, 1, (18, 28, 28, 1)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(8)  # 8, 8, 2 images: no static batch size
    dynamic["dataset"] = error_of(lambda: gan.fit(ds, verbose=0))
    dynamic["d_iterations"] = int(np.array(gan.d_optimizer.iterations.numpy()))

    def batches():  # not a tf.data.Dataset: checked inside train_step, across the replicas
        yield (x[:8],)
        yield (x[8:10],)

    dynamic["generator"] = error_of(lambda: gan.fit(batches(), verbose=0))
    report["dynamic"] = dynamic
    print("REPORT" + json.dumps(report))
    """
)


def _run_mirrored(names, extras):
    out = subprocess.run([sys.executable, "-c", _MIRRORED, TESTS_DIR, ",".join(names),
                          "extras" if extras else "names_only"],
                         capture_output=True, text=True, timeout=600, env=ENV)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.split("REPORT", 1)[1])


# The default run covers synchronized BatchNorm with every small-data option on (ADA, R1, R2,
# LeCam) and per-replica BatchNorm; the slow run adds each family's plain recipe (WGAN-GP's
# 5 critic steps with the penalty's nested tapes, SN-GAN's power iteration, DCGAN).
# MultiWorkerMirrored (below) runs WGAN-GP in the default run too.
MIRRORED_FAST = ("dcgan_mnist+small_data", "dcgan_mnist+unsync")
MIRRORED_SLOW = ("wgan_gp_mnist", "sngan_mnist", "dcgan_mnist")


@pytest.fixture(scope="module")
def mirrored_report():
    return _run_mirrored(MIRRORED_FAST, extras=True)


@pytest.fixture(scope="module")
def mirrored_report_slow():
    return _run_mirrored(MIRRORED_SLOW, extras=False)


def _mirrored(request, name):
    return request.getfixturevalue("mirrored_report_slow" if name in MIRRORED_SLOW else "mirrored_report")[name]


def _by_cost(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in MIRRORED_SLOW else n for n in names]


@pytest.mark.parametrize("name", _by_cost(MIRRORED_SLOW + MIRRORED_FAST))
def test_every_variable_is_identical_on_both_replicas(request, name):
    # dcgan_mnist+unsync: per-replica BatchNorm (sync_batchnorm=False), whose moving
    # statistics are averaged over replicas after every step.
    assert _mirrored(request, name)["replica_spread"] < 1e-6


@pytest.mark.parametrize("name", _by_cost(MIRRORED_SLOW + ("dcgan_mnist+small_data",)))
def test_mirrored_two_replicas_match_one_device_at_the_same_global_batch(request, name):
    # BatchNorm is synchronized by default, so two replicas log and train like one device.
    r = _mirrored(request, name)
    assert r["replicas"] == 2
    # SGD steps are proportional to the gradient: a loss summed instead of averaged
    # over replicas, or scaled twice, would move the weights 2x or 0.5x as far.
    assert r["max_weight_change"] > 1e-3, r
    assert r["max_weight_diff"] < 1e-5 * max(1.0, r["max_weight_change"]), r
    assert r["d_iterations"] > 0
    for key, value in r["metrics_one"].items():
        assert r["metrics_two"][key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


def test_ada_p_and_lecam_anchors_are_identical_on_every_replica_and_equal_one_device(mirrored_report):
    r = mirrored_report["dcgan_mnist+small_data:p"]
    assert r["one_device"] != pytest.approx(0.5)  # p moved during the steps
    assert r["replicas"] == [r["replicas"][0]] * 2
    assert r["replicas"][0] == pytest.approx(r["one_device"], abs=1e-6)
    assert r["anchors_replicas"][0] == r["anchors_replicas"][1]
    np.testing.assert_allclose(r["anchors_replicas"][0], r["anchors_one"], rtol=1e-4, atol=1e-5)


def test_forced_xla_under_mirrored_strategy_on_cpu_is_refused(mirrored_report):
    assert "Received: jit_compile=True with 2 CPU replicas" in mirrored_report["jit_error"]


_WORKER = textwrap.dedent(
    """
    import json, os, sys
    import tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from conftest import real_batch, tiny_model
    sync = {"default": {}, "false": {"sync_batchnorm": False}}[sys.argv[4]]
    MWMS_D_STEPS = int(sys.argv[5])
    with strategy.scope():
        gan = tiny_model("wgan_gp_mnist", seed=3, d_steps=MWMS_D_STEPS, **sync)
        # SGD: Adam's first steps amplify rounding in near-zero gradients to +-lr.
        gan.compile(d_optimizer={"name": "sgd", "learning_rate": 0.001},
                    g_optimizer={"name": "sgd", "learning_rate": 0.001})
    # Each worker reads its own data, so no auto-sharding.
    batch = real_batch(gan, per_step=4, seed=int(sys.argv[3]))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    ds = tf.data.Dataset.from_tensors(batch).repeat(3).with_options(options)
    history = gan.fit(ds, epochs=1, verbose=0)
    variables = gan.weights + gan.d_optimizer.variables + gan.g_optimizer.variables
    np.savez(sys.argv[2], *[np.array(v) for v in variables])
    print("LOSS", json.dumps({k: float(np.ravel(v)[0]) for k, v in history.history.items()}))
    """
)


# Two critic steps per generator step (the recipe has 5): the multi-step critic under
# MultiWorkerMirrored at less than half the tracing cost.
MWMS_D_STEPS = 2


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _every_variable(gan):
    return [np.array(v) for v in gan.weights + gan.d_optimizer.variables + gan.g_optimizer.variables]


# "false" (per-replica BatchNorm, statistics averaged after each step) is slow; the default run
# covers that averaging under MirroredStrategy (dcgan_mnist+unsync above).
@pytest.mark.parametrize("sync", ["default", pytest.param("false", marks=pytest.mark.slow)])
def test_multi_worker_mirrored_two_workers_end_with_every_variable_identical(tmp_path, sync):
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        procs.append(subprocess.Popen(
            [sys.executable, "-c", _WORKER, TESTS_DIR, str(tmp_path / f"w{i}.npz"), str(i), sync,
             str(MWMS_D_STEPS)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=600) for p in procs]
    logs = []
    for p, (stdout, stderr) in zip(procs, outs):
        assert p.returncode == 0, stderr[-4000:]
        logs.append(json.loads(stdout.split("LOSS", 1)[1]))
    # The generator's loss is logged under MultiWorkerMirroredStrategy too (it was
    # always 0.0 when train_step returned before updating its tracker).
    assert logs[0]["g_loss"] != 0.0 and np.isfinite(logs[0]["g_loss"])
    assert logs[0] == logs[1]
    # Every variable, trainable or not (the generator's BatchNorm moving mean and
    # variance, the optimizers' slots and counters), ends identical on both workers.
    w0, w1 = np.load(tmp_path / "w0.npz"), np.load(tmp_path / "w1.npz")
    # The one-device reference (sync_batchnorm=True on one device: the same one-pass
    # variance formula as synchronized BatchNorm).
    gan = tiny_model("wgan_gp_mnist", seed=3, d_steps=MWMS_D_STEPS, sync_batchnorm=True)
    gan.compile(d_optimizer={"name": "sgd", "learning_rate": 0.001},
                g_optimizer={"name": "sgd", "learning_rate": 0.001})
    assert len(w0.files) == len(w1.files) == len(_every_variable(gan))
    for key in w0.files:
        np.testing.assert_array_equal(w0[key], w1[key])
    if sync == "default":
        # Synchronized BatchNorm by default: the two workers log and end exactly like one
        # device given the same global batches.
        # tf.distribute treats each worker's element (n = d_steps * 4 images) as a global batch
        # of n and, with auto-sharding off, splits it into two per-replica batches of n / 2
        # that the worker reads in turn; fit runs the dataset's 3 steps: the first n / 2 rows
        # of both workers' elements, the last n / 2, the first n / 2.
        w = [real_batch(gan, per_step=4, seed=i) for i in range(2)]
        half = len(w[0]) // 2
        first, last = ([np.concatenate([w[0][rows], w[1][rows]])] for rows in (slice(0, half), slice(half, None)))
        global_batches = tf.data.Dataset.from_tensor_slices(np.concatenate([first, last, first]))
        one = gan.fit(global_batches, epochs=1, verbose=0)
        for key, value in one.history.items():
            assert logs[0][key] == pytest.approx(value[0], rel=1e-4, abs=1e-5)
        for key, value in zip(w0.files, _every_variable(gan)):
            np.testing.assert_allclose(w0[key], value, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_with_float32_variables_and_outputs(policy):
    keras.mixed_precision.set_global_policy(policy)
    gan = tiny_model("wgan_gp_mnist", d_steps=2)  # the penalty's nested tapes; 2 critic steps trace fast
    history = gan.fit(as_dataset(real_batch(gan), repeats=3), epochs=1, verbose=0)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert all(v.dtype == "float32" for v in gan.generator.weights + gan.discriminator.weights)
    assert gan.generator.compute_dtype == policy.split("_")[1]
    images = gan.generate(2, seed=0)
    assert images.dtype == np.float32 and np.all(np.abs(images) <= 1)
    x = real_batch(gan)
    assert str(gan.discriminator(x).dtype) in ("float32", "<dtype: 'float32'>")
    scaled = policy == "mixed_float16"
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer) == scaled


def test_global_batch_that_does_not_divide_over_replicas_is_refused(mirrored_report):
    assert "multiple of 10. Received: a global batch of 15 images" in mirrored_report["batch_error"]


def test_dynamic_global_batch_that_does_not_divide_over_replicas_is_refused_at_run_time(mirrored_report):
    report = mirrored_report["dynamic"]
    expected = "multiple of 4. Received: a global batch of 2 images"  # as the static check says it
    assert expected in report["dataset"] and expected in report["generator"]
    assert "split over 2 replicas and then into d_steps=2" in report["generator"]
    assert report["d_iterations"] == 4  # the two full global batches, nothing of the third


def test_unknown_strategy_name_is_refused():
    from ganzoo import distribute

    with pytest.raises(ValueError, match=r"Expected one of .*mirrored.*Received: strategy='mirored'"):
        distribute.get_strategy("mirored")


def test_unreachable_tpu_address_fails_fast_with_a_clear_error():
    from ganzoo import distribute

    (port,) = _free_ports(1)  # nothing listens there
    with pytest.raises(ValueError, match=rf"Could not reach the TPU at grpc://127.0.0.1:{port}.*Received"):
        distribute.get_strategy(f"tpu:grpc://127.0.0.1:{port}")


def test_precision_policy_names_are_checked():
    from ganzoo import distribute

    with pytest.raises(ValueError, match="Received: precision='fp16'"):
        distribute.set_precision("fp16")


def test_only_the_chief_writes(monkeypatch):
    from ganzoo import distribute

    cluster = {"worker": ["localhost:1", "localhost:2"]}
    for index, chief in ((0, True), (1, False)):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        assert distribute.is_chief() is chief
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {**cluster, "chief": ["localhost:3"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert distribute.is_chief() is False
    monkeypatch.delenv("TF_CONFIG")
    assert distribute.is_chief() is True


# --- get_strategy / set_precision with valid names (what `ganzoo train --strategy/--precision` call) ---


def test_default_strategy_is_the_current_one():
    from ganzoo import distribute

    for name in ("default", " default ", "", None):
        strategy = distribute.get_strategy(name)
        assert strategy is tf.distribute.get_strategy(), name
        assert strategy.num_replicas_in_sync == 1


def test_one_device_strategy_places_variables_on_the_cpu():
    from ganzoo import distribute

    strategy = distribute.get_strategy("one_device")
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    assert strategy.num_replicas_in_sync == 1
    assert strategy.extended.worker_devices[0].endswith("device:CPU:0")
    with strategy.scope():
        v = keras.Variable(1.0)
    assert v.value.device.endswith("device:CPU:0")


def test_mirrored_strategy_uses_every_cpu_when_there_is_no_gpu():
    from ganzoo import distribute

    strategy = distribute.get_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert strategy.num_replicas_in_sync == len(cpus)
    assert [d.split("/")[-1] for d in strategy.extended.worker_devices] == [c.split("/")[-1] for c in cpus]
    with strategy.scope():
        v = keras.Variable(1.0)
    assert isinstance(v.value, tf.distribute.DistributedValues)  # a mirrored variable


_SINGLE_WORKER = textwrap.dedent(
    """
    import json
    from ganzoo import distribute
    strategy = distribute.get_strategy("multi_worker")  # first: before any other TF op
    import keras
    import tensorflow as tf
    with strategy.scope():
        v = keras.Variable(1.0)
    print("REPORT" + json.dumps({
        "multi_worker": isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy),
        "replicas": strategy.num_replicas_in_sync,
        "distributed": isinstance(v.value, tf.distribute.DistributedValues),
        "chief": distribute.is_chief(),
    }))
    """
)


def test_multi_worker_strategy_without_tf_config_is_a_single_worker():
    # Collective ops are configured at start-up: in a fresh process.
    env = {k: v for k, v in ENV.items() if k != "TF_CONFIG"}
    out = subprocess.run([sys.executable, "-c", _SINGLE_WORKER], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    report = json.loads(out.stdout.split("REPORT", 1)[1])
    assert report == {"multi_worker": True, "replicas": 1, "distributed": True, "chief": True}


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16", "float32"])
def test_set_precision_sets_the_global_policy_of_new_layers(policy):
    from ganzoo import distribute

    keras.mixed_precision.set_global_policy("mixed_bfloat16" if policy == "float32" else "float32")
    distribute.set_precision(policy)
    assert keras.mixed_precision.global_policy().name == policy
    layer = keras.layers.Dense(2)
    y = layer(np.ones((1, 3), "float32"))
    compute = "float32" if policy == "float32" else policy.split("_")[1]
    assert layer.compute_dtype == compute and keras.backend.standardize_dtype(y.dtype) == compute
    assert all(w.dtype == "float32" for w in layer.weights)  # variables stay float32
