"""Throughput of one GAN training step per zoo entry: ganzoo's engine vs. a plain Keras baseline.

For every zoo entry matching ``--pattern`` it measures real images per second
consumed by a training step (``d_steps * batch_size`` per generator step) at
the recipe's own sizes, on synthetic data held in memory (the input pipeline
is not measured; see data_pipeline.py for that), for:

* XLA on / off (``compile(jit_compile=...)``),
* float32 / ``mixed_bfloat16`` (the global Keras policy is set before the
  networks are built and restored afterwards),
* ganzoo's engine (``GAN.train_step``) and, with ``--baseline``, a plain
  hand-written ``keras.Model.train_step`` in the keras.io style (defined in
  this file, not using ganzoo's engine) that trains the same networks with the
  same loss math, the same number of D steps and the same Adam settings.

All configurations of an entry are built and warmed up first, then timed in
``--repeats`` interleaved rounds of 1 untimed + ``--steps`` timed steps, so
that they see the same background load; the step time is the median.

It also reports the analytic FLOPs of one training step, the achieved GFLOP/s,
its fraction of a nominal peak of this CPU computed from /proc/cpuinfo, the
GFLOP per CPU-second the process actually got compared with a 2048^3 matmul
run first, the load average, and the CPU cores used by this process and by
other processes during the timed steps (a background job sharing the cores
makes wall-clock numbers lower; it is recorded so that the table stays honest).

    python benchmarks/train_step.py                       # *_mnist, everything but the baseline
    python benchmarks/train_step.py --steps 3 --warmup 2 --repeats 3 --baseline \
        --json benchmarks/results/cpu_2core.json
    python benchmarks/train_step.py --pattern dcgan_mnist --xla off --precision float32 --steps 1 --warmup 1

Never run by the tests.
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
import keras

import ganzoo

tf.get_logger().setLevel("ERROR")  # each new model traces its own step: the retracing warning is expected

PRECISIONS = ("float32", "mixed_bfloat16")


# ---------------------------------------------------------------------------
# Machine and nominal peak
# ---------------------------------------------------------------------------
def _cpuinfo():
    """First processor's fields of /proc/cpuinfo (plus the mean MHz), or {}."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return {}
    fields, mhz = {}, []
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, value = (s.strip() for s in line.split(":", 1))
        if key == "cpu MHz":
            mhz.append(float(value))
        fields.setdefault(key, value)
    if mhz:
        fields["mean MHz"] = sum(mhz) / len(mhz)
    return fields


def machine_info():
    """CPU model, cores, flags and nominal peak GFLOP/s (fp32 and bf16), with the assumptions."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ghz = info.get("mean MHz", 0.0) / 1000.0
    vendor = info.get("vendor_id", "")
    family = int(info.get("cpu family", "0") or 0)
    if "avx512f" in flags and vendor == "AuthenticAMD" and family == 25:
        # Zen 4 (family 19h with AVX-512): two 256-bit FMA pipes; a 512-bit op
        # is executed as two 256-bit halves.
        fp32_per_cycle = 2 * 8 * 2
        rule = "AMD Zen 4 (AVX-512 on 256-bit datapaths): 2 FMA pipes x 8 fp32 lanes x 2 FLOPs = 32 FLOPs/cycle"
    elif "avx512f" in flags:
        fp32_per_cycle = 2 * 16 * 2
        rule = "AVX-512: 2 FMA units x 16 fp32 lanes x 2 FLOPs = 64 FLOPs/cycle (1-FMA-unit parts have half)"
    elif "avx2" in flags and "fma" in flags:
        fp32_per_cycle = 2 * 8 * 2
        rule = "AVX2+FMA: 2 FMA units x 8 fp32 lanes x 2 FLOPs = 32 FLOPs/cycle"
    else:
        fp32_per_cycle = 2 * 4 * 2
        rule = "SSE: 2 units x 4 fp32 lanes x 2 FLOPs = 16 FLOPs/cycle"
    if "amx_bf16" in flags:
        bf16_per_cycle = 1024
        bf16_rule = "AMX-BF16 tiles: 1024 bf16 FLOPs/cycle"
    elif "avx512_bf16" in flags:
        bf16_per_cycle = 2 * fp32_per_cycle
        bf16_rule = "AVX512_BF16 (VDPBF16PS: 2 bf16 products per fp32 lane) = 2x the fp32 rate"
    else:
        bf16_per_cycle = fp32_per_cycle
        bf16_rule = "no bf16 instructions: bf16 computed at the fp32 rate"
    return {
        "cpu_model": info.get("model name", platform.processor() or platform.machine()),
        "vendor": vendor,
        "cpu_family": family,
        "cpu_model_number": info.get("model", ""),
        "cores": cores,
        "ghz_nominal": round(ghz, 3),
        "hypervisor": "hypervisor" in flags,
        "flags": sorted(f for f in flags if f.startswith(("avx", "amx", "fma"))),
        "fp32_flops_per_cycle_per_core": fp32_per_cycle,
        "bf16_flops_per_cycle_per_core": bf16_per_cycle,
        "peak_gflops": {
            "float32": cores * ghz * fp32_per_cycle,
            "mixed_bfloat16": cores * ghz * bf16_per_cycle,
        },
        "peak_assumption": (
            f"peak = cores x GHz (/proc/cpuinfo 'cpu MHz', no turbo) x FLOPs/cycle; {rule}; "
            f"bf16: {bf16_rule}"
        ),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def raise_peak_to_matmul(machine, calibration):
    """Raise the nominal peak to what the matmul achieved when that is higher.

    /proc/cpuinfo (in a VM especially) reports the base clock; a core that
    boosts above it makes the nominal figure an underestimate, and a
    "fraction of peak" above 100% would be meaningless. The peak used is then
    the measured matmul GFLOP/s (wall), and the assumption says so.
    """
    for precision, dtype in (("float32", "float32"), ("mixed_bfloat16", "bfloat16")):
        measured = calibration[dtype]["gflops_wall"]
        if measured > machine["peak_gflops"][precision]:
            machine.setdefault("peak_gflops_nominal", {})[precision] = machine["peak_gflops"][precision]
            machine["peak_gflops"][precision] = measured
            machine["peak_assumption"] += (
                f"; {precision}: the 2048^3 matmul ran faster than the base-clock figure (the cores boost), "
                f"so peak = that matmul's {measured:.0f} GFLOP/s")


def _busy_jiffies():
    """(busy, total) jiffies of all CPUs from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values[:8]) - idle, sum(values[:8])


def _sample():
    """(wall s, this process's CPU s over all threads, busy s of all CPUs or None)."""
    busy = _busy_jiffies()
    return (time.perf_counter(), time.process_time(),
            busy[0] / os.sysconf("SC_CLK_TCK") if busy else None)


def _usage(a, b):
    """Cores used by this process and by everything else between two `_sample()`s."""
    wall = b[0] - a[0]
    ours = (b[1] - a[1]) / wall
    out = {"cores_used_by_us": round(ours, 2)}
    if a[2] is not None and b[2] is not None:
        busy = (b[2] - a[2]) / wall
        out["cores_busy_total"] = round(busy, 2)
        out["cores_used_by_others"] = round(max(0.0, busy - ours), 2)
    return out


def calibrate(n=2048, reps=8):
    """GFLOP/s of an n x n x n matmul (fp32 and bf16): a practical roofline for this machine now."""
    out = {}
    for dtype in ("float32", "bfloat16"):
        a = tf.cast(tf.random.stateless_normal((n, n), seed=[0, 0]), dtype)
        f = tf.function(lambda a: tf.matmul(a, a))
        f(a).numpy()
        s0 = _sample()
        for _ in range(reps):
            r = f(a)
        r.numpy()
        s1 = _sample()
        flop = 2.0 * n**3 * reps
        out[dtype] = {
            "gflops_wall": flop / (s1[0] - s0[0]) / 1e9,
            "gflop_per_cpu_s": flop / (s1[1] - s0[1]) / 1e9,
            **_usage(s0, s1),
        }
    return out


# ---------------------------------------------------------------------------
# FLOPs (analytic, from the built layers)
# ---------------------------------------------------------------------------
def _sublayers(model):
    return list(model._flatten_layers(include_self=False, recursive=True))


def _shape(tensor):
    return tuple(tensor.shape)


def layer_macs(layer):
    """Multiply-adds per sample of one Conv2D / Conv2DTranspose / Dense layer (0 for others).

    Uses the layer's symbolic input/output in the functional graph (every
    ganzoo network is functional). ganzoo's SpectralConv2D / SpectralDense
    subclass Conv2D / Dense and are counted like them (the power iteration on
    the kernel is a matrix-vector product, ignored).
    """
    if isinstance(layer, keras.layers.Conv2DTranspose):
        _, h, w, c_in = _shape(layer.input)
        kh, kw = layer.kernel_size
        return h * w * c_in * kh * kw * layer.filters  # every input pixel scatters a kh x kw x C_out patch
    if isinstance(layer, keras.layers.Conv2D):
        c_in = _shape(layer.input)[-1]
        _, h, w, c_out = _shape(layer.output)
        kh, kw = layer.kernel_size
        return h * w * c_out * kh * kw * c_in // layer.groups
    if isinstance(layer, keras.layers.Dense):
        in_shape = _shape(layer.input)
        rows = math.prod(in_shape[1:-1]) if len(in_shape) > 2 else 1
        return rows * in_shape[-1] * layer.units
    return 0


def forward_flops(model):
    """Forward FLOPs per sample of a network (2 FLOPs per multiply-add) and a per-layer breakdown."""
    per_layer = {}
    for layer in _sublayers(model):
        macs = layer_macs(layer)
        if macs:
            per_layer[layer.name] = 2 * macs
    return sum(per_layer.values()), per_layer


def step_flops(gan, recipe):
    """FLOPs of one training step (one generator iteration) and the multipliers used.

    With F_G, F_D the forward FLOPs of G and D per sample, B the per-D-step
    batch, Bg the generator batch:

    * each D step: G forward (B) + D forward on real and on fake (2B) + D
      backward for both (2 x 2B; backward ~ 2x forward: input and weight
      gradients) = B (F_G + 6 F_D). G is not back-propagated in a D step.
    * gradient penalty (WGAN-GP), per D step: D forward on x_hat (1) + the
      inner backward to the input (1, input gradients only) + the outer
      backward through both (~2 x 2) = 6 B F_D. R1 (on real) and R2 (on
      fake) cost the same each, divided by ``penalty_interval`` when lazy.
    * G step: G forward + D forward (Bg (F_G + F_D)) + backward through D to
      its input only (D's weight gradients are not needed: 1 Bg F_D) +
      backward through G (2 Bg F_G) = Bg (3 F_G + 2 F_D).

    Elementwise ops (activations, BatchNorm, LayerNorm, losses, Adam, the
    spectral-norm power iteration, the EMA update) are ignored.
    """
    f_g, g_layers = forward_flops(gan.generator)
    f_d, d_layers = forward_flops(gan.discriminator)
    b, d_steps = recipe.batch_size, recipe.d_steps
    bg = recipe.g_batch_size or b
    gp = recipe.family == "wgan_gp"
    lazy = max(1, recipe.penalty_interval or 1)
    penalties = float(gp) + (bool(recipe.r1_weight) + bool(recipe.r2_weight)) / lazy
    d_step = b * (f_g + 6 * f_d) + 6 * penalties * b * f_d
    g_step = bg * (3 * f_g + 2 * f_d)
    total = d_steps * d_step + g_step
    return {
        "g_forward_mflop_per_sample": f_g / 1e6,
        "d_forward_mflop_per_sample": f_d / 1e6,
        "d_step_gflop": d_step / 1e9,
        "g_step_gflop": g_step / 1e9,
        "gflop_per_step": total / 1e9,
        "formula": (
            f"{d_steps} x [B(F_G + 6 F_D){f' + {penalties:g} x 6 B F_D (GP/R1/R2)' if penalties else ''}] "
            f"+ Bg(3 F_G + 2 F_D), "
            f"B={b}, Bg={bg}"
        ),
        "g_layers_mflop": {k: v / 1e6 for k, v in g_layers.items()},
        "d_layers_mflop": {k: v / 1e6 for k, v in d_layers.items()},
    }


# ---------------------------------------------------------------------------
# Baseline: the keras.io pattern, written by hand (not ganzoo's engine)
# ---------------------------------------------------------------------------
class KerasIOGAN(keras.Model):
    """A plain GAN in the style of the keras.io examples (DCGAN / WGAN-GP).

    `train_step` runs `d_steps` discriminator updates, each on its own
    contiguous slice of the batch with its own tape, then one generator update.
    Losses, by family: non-saturating BCE on logits (`keras.losses.
    BinaryCrossentropy(from_logits=True)`), Wasserstein + gradient penalty
    (alpha ~ U(0, 1) per sample, lambda = gp_weight), hinge. Logits are cast to
    float32 before the losses. No EMA, no replica scaling, no input checks.
    """

    LOSSES = ("non_saturating", "wasserstein", "hinge")  # what d_loss_fn and g_loss_fn implement

    def __init__(self, generator, discriminator, latent_dim, loss, d_steps=1, g_batch_size=None,
                 gp_weight=None, seed=0):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.loss_name = loss
        self.d_steps = d_steps
        self.g_batch_size = g_batch_size
        self.gp_weight = gp_weight
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, jit_compile=False):
        super().compile(jit_compile=jit_compile)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def d_loss_fn(self, real_logits, fake_logits):
        if self.loss_name == "non_saturating":
            return (self.bce(tf.ones_like(real_logits), real_logits)
                    + self.bce(tf.zeros_like(fake_logits), fake_logits))
        if self.loss_name == "wasserstein":
            return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)
        if self.loss_name == "hinge":
            return (tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
                    + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)))
        raise ValueError(f"The baseline has no loss {self.loss_name!r}")

    def g_loss_fn(self, fake_logits):
        if self.loss_name == "non_saturating":
            return self.bce(tf.ones_like(fake_logits), fake_logits)
        return -tf.reduce_mean(fake_logits)  # wasserstein and hinge

    def gradient_penalty(self, real, fake):
        batch = tf.shape(real)[0]
        alpha = keras.random.uniform((batch, 1, 1, 1), 0.0, 1.0, seed=self.seed_generator)
        x_hat = alpha * real + (1.0 - alpha) * fake
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(x_hat)
            pred = tf.cast(self.discriminator(x_hat, training=True), "float32")
        grads = gp_tape.gradient(pred, x_hat)
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
        return tf.reduce_mean((norm - 1.0) ** 2)

    def train_step(self, real_images):
        batch = real_images.shape[0] // self.d_steps
        for i in range(self.d_steps):
            real = real_images[i * batch:(i + 1) * batch]
            z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                real_logits = tf.cast(self.discriminator(real, training=True), "float32")
                fake_logits = tf.cast(self.discriminator(fake, training=True), "float32")
                d_loss = self.d_loss_fn(real_logits, fake_logits)
                if self.gp_weight is not None:
                    d_loss += self.gp_weight * self.gradient_penalty(real, tf.cast(fake, "float32"))
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((self.g_batch_size or batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits = tf.cast(self.discriminator(self.generator(z, training=True), training=True), "float32")
            g_loss = self.g_loss_fn(fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def _adam(settings, d_steps=1):
    """keras Adam from recipe optimizer settings; the 'linear' schedule as PolynomialDecay."""
    s = dict(settings)
    if s.pop("name", "adam").lower() != "adam":
        raise ValueError(f"The baseline only builds Adam. Received: {settings!r}")
    schedule = s.pop("schedule", "constant")
    decay_steps = s.pop("decay_steps", None)
    if schedule == "linear":
        s["learning_rate"] = keras.optimizers.schedules.PolynomialDecay(
            s.get("learning_rate", 1e-3), decay_steps * d_steps, end_learning_rate=0.0)
    elif schedule != "constant":
        raise ValueError(f"The baseline has no schedule {schedule!r}")
    return keras.optimizers.Adam(**s)


def baseline_gap(recipe):
    """Why the baseline cannot train `recipe`'s step with the same math, or None if it can."""
    if recipe.num_classes:
        return "it is unconditional only"
    if recipe.loss not in KerasIOGAN.LOSSES:
        return f"it has no {recipe.loss} loss"
    if recipe.r1_weight or recipe.r2_weight:
        return "it has no R1/R2"
    return None


def build_baseline(gan, recipe, seed=0):
    """The keras.io-style model around `gan`'s own generator and discriminator."""
    gap = baseline_gap(recipe)
    if gap:
        raise ValueError(f"The keras.io-style baseline cannot train this recipe: {gap}. Received: {recipe.name}")
    model = KerasIOGAN(
        gan.generator, gan.discriminator, gan.latent_dim, recipe.loss, d_steps=recipe.d_steps,
        g_batch_size=recipe.g_batch_size, gp_weight=recipe.gp_weight if recipe.family == "wgan_gp" else None,
        seed=seed)
    return model


# ---------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------
class _StepTimer(keras.callbacks.Callback):
    """`_sample()` after every batch (synchronised by reading the logged losses)."""

    def on_train_begin(self, logs=None):
        self.samples = []
        self.logs = None

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.logs = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in logs.items()}
        self.samples.append(_sample())


def build(name, impl, xla, precision, seed=0):
    """(model, gan, recipe): the entry built under `precision` (policy restored after), compiled."""
    recipe = ganzoo.get_recipe(name)
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(seed)
        gan = ganzoo.create_model(name, compile=False, seed=seed)
        if impl == "ganzoo":
            model = gan
            model.compile(jit_compile=xla)
        else:
            model = build_baseline(gan, recipe, seed=seed)
            model.compile(
                d_optimizer=_adam(recipe.d_optimizer, recipe.d_steps),
                g_optimizer=_adam(recipe.g_optimizer),
                jit_compile=xla,
            )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return model, gan, recipe


def _fit(model, ds, steps):
    """Runs 1 + `steps` training steps; returns the `_StepTimer` (samples and the last losses).

    The samples are taken after each batch, so the first step of the window
    (the end of which is the first sample) is not timed: the first step after
    another model ran is often 2-3x slower (cold allocations), whichever
    model it is.
    """
    timer = _StepTimer()
    model.fit(ds, steps_per_epoch=1 + steps, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
    return timer


def measure_entry(name, configs, steps, warmup, repeats, seed=0):
    """Measures every configuration `(precision, xla, impl)` of one zoo entry, interleaved.

    Every configuration's model is built and warmed up first (`warmup`
    steps: tracing, XLA compilation); then `repeats` rounds each run 1
    untimed + `steps` timed steps of every configuration in turn, so that all
    configurations of the entry see the same mix of background load. Returns
    one result row per configuration, in the order of `configs`.
    """
    keras.backend.clear_session()  # also resets the global dtype policy
    models, rows, windows = {}, {}, {}
    for config in configs:
        precision, xla, impl = config
        try:
            model, gan, recipe = build(name, impl, xla, precision, seed=seed)
            n = recipe.batch_size * recipe.d_steps
            rng = np.random.default_rng(seed)
            x = rng.uniform(-1, 1, (n, *gan.image_shape)).astype("float32")
            if recipe.num_classes:  # a conditional entry trains on (images, labels)
                x = (x, rng.integers(0, recipe.num_classes, n).astype("int32"))
            ds = tf.data.Dataset.from_tensors(x).repeat()
            t0 = time.perf_counter()
            model.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0, shuffle=False)
            models[config] = (model, ds, recipe, time.perf_counter() - t0)
            windows[config] = []
        except Exception as e:  # keep going: a failing configuration is a result too
            rows[config] = _error_row(name, impl, xla, precision, e)
    load_before = os.getloadavg()
    for _ in range(repeats):
        for config in list(windows):
            model, ds, _, _ = models[config]
            try:
                windows[config].append(_fit(model, ds, steps))
            except Exception as e:
                precision, xla, impl = config
                rows[config] = _error_row(name, impl, xla, precision, e)
                del windows[config]
    load_after = os.getloadavg()
    for config, timers in windows.items():
        precision, xla, impl = config
        _, _, recipe, warmup_s = models[config]
        rows[config] = _row(name, impl, xla, precision, recipe, timers, steps, warmup, repeats, warmup_s,
                            load_before, load_after)
    return [rows[config] for config in configs]


def _error_row(name, impl, xla, precision, e):
    message = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
    return {"entry": name, "impl": impl, "xla": bool(xla), "precision": precision,
            "error": f"{type(e).__name__}: {message}"}


def _row(name, impl, xla, precision, recipe, timers, steps, warmup, repeats, warmup_s, load_before, load_after):
    step_times, wall, cpu, busy = [], 0.0, 0.0, 0.0
    for timer in timers:
        smp = timer.samples
        step_times += [b[0] - a[0] for a, b in zip(smp[:-1], smp[1:])]
        wall += smp[-1][0] - smp[0][0]
        cpu += smp[-1][1] - smp[0][1]
        busy = None if busy is None or smp[0][2] is None else busy + smp[-1][2] - smp[0][2]
    total_steps = steps * repeats
    n = recipe.batch_size * recipe.d_steps
    median_s = statistics.median(step_times)
    mean_s = wall / total_steps
    cpu_s_per_step = cpu / total_steps
    gflop = step_flops_cached(name)["gflop_per_step"]
    peak = MACHINE["peak_gflops"][precision]
    gflops = gflop / median_s
    roof = (CALIBRATION or {}).get("float32" if precision == "float32" else "bfloat16", {})
    losses = {k: v for k, v in (timers[-1].logs or {}).items() if k in ("d_loss", "g_loss")}
    usage = {"cores_used_by_us": round(cpu / wall, 2)}
    if busy is not None:
        usage["cores_busy_total"] = round(busy / wall, 2)
        usage["cores_used_by_others"] = round(max(0.0, (busy - cpu) / wall), 2)
    return {
        "entry": name,
        "family": recipe.family,
        "impl": impl,
        "xla": bool(xla),
        "precision": precision,
        "batch": f"{recipe.batch_size}x{recipe.d_steps}",
        "g_batch": recipe.g_batch_size or recipe.batch_size,
        "images_per_step": n,
        "steps": steps,
        "repeats": repeats,
        "warmup": warmup,
        "step_s_median": median_s,
        "step_s_mean": mean_s,
        "step_s_min": min(step_times),
        "step_times_s": [round(v, 4) for v in step_times],
        "images_per_s": n / median_s,
        "images_per_s_mean": n / mean_s,
        "warmup_s": warmup_s,
        "gflop_per_step": gflop,
        "achieved_gflops": gflops,
        "peak_gflops": peak,
        "fraction_of_peak": gflops / peak if peak else None,
        "cpu_s_per_step": cpu_s_per_step,
        "gflop_per_cpu_s": gflop / cpu_s_per_step if cpu_s_per_step > 0 else None,
        "fraction_of_matmul": (gflop / cpu_s_per_step / roof["gflop_per_cpu_s"]
                               if roof and cpu_s_per_step > 0 else None),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in load_after],
        **usage,
        "final_losses": losses,
        "losses_finite": bool(losses) and all(math.isfinite(v) for v in losses.values()),
    }


_FLOPS = {}


def step_flops_cached(name):
    """`step_flops` of a zoo entry (float32 build; FLOPs do not depend on the precision)."""
    if name not in _FLOPS:
        _FLOPS[name] = step_flops(ganzoo.create_model(name, compile=False), ganzoo.get_recipe(name))
    return _FLOPS[name]


MACHINE = machine_info()
CALIBRATION = None  # set by main()

_HEADER = (f"{'entry':<16} {'impl':<8} {'XLA':>3} {'prec':>4} {'batch':>6} {'s/step':>6} {'img/s':>6} "
           f"{'GFLOP':>5} {'GFLOP/s':>7} {'%peak':>5} {'GF/cpu-s':>8} {'%mm':>4} {'cores':>9} {'load1':>5} "
           f"{'warmup':>6} {'finite':>6}")


def _format(r):
    prec = "fp32" if r["precision"] == "float32" else "bf16"
    head = f"{r['entry']:<16} {r['impl']:<8} {'on' if r['xla'] else 'off':>3} {prec:>4}"
    if "error" in r:
        return f"{head}  ERROR: {r['error']}"
    mm = r.get("fraction_of_matmul")
    return (f"{head} {r['batch']:>6} {r['step_s_median']:>6.3f} {r['images_per_s']:>6.1f} "
            f"{r['gflop_per_step']:>5.1f} {r['achieved_gflops']:>7.1f} {100 * r['fraction_of_peak']:>4.1f}% "
            f"{r['gflop_per_cpu_s'] or float('nan'):>8.1f} {f'{100 * mm:3.0f}%' if mm else '   -':>4} "
            f"{r['cores_used_by_us']:>4.2f}/{r.get('cores_used_by_others', float('nan')):<4.2f} "
            f"{r['loadavg_after'][0]:>5.2f} {r['warmup_s']:>6.1f} {str(r['losses_finite']):>6}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    parser.add_argument("--pattern", default="*_mnist", help="shell wildcard over zoo entries (default: *_mnist)")
    parser.add_argument("--steps", type=int, default=10, help="timed generator steps per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed steps first, including tracing and XLA compilation (default 2)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed windows of --steps steps per configuration, interleaved over all "
                             "configurations of an entry so that they see the same background load (default 1)")
    parser.add_argument("--xla", choices=("on", "off", "both"), default="both")
    parser.add_argument("--precision", choices=(*PRECISIONS, "both"), default="both")
    parser.add_argument("--baseline", action="store_true",
                        help="also measure the hand-written keras.io-style train_step on the same networks")
    parser.add_argument("--json", default=None, metavar="PATH", help="write machine info and all rows as JSON")
    parser.add_argument("--no-calibrate", action="store_true",
                        help="skip the 2048^3 matmul that measures this machine's practical GFLOP/s first")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 1 or args.repeats < 1:
        parser.error("--steps, --warmup and --repeats must be >= 1 (the first step traces/compiles)")
    names = ganzoo.list_models(args.pattern)
    if not names:
        parser.error(f"no zoo entry matches --pattern {args.pattern!r}; see ganzoo.list_models()")
    xlas = {"on": (True,), "off": (False,), "both": (False, True)}[args.xla]
    precisions = PRECISIONS if args.precision == "both" else (args.precision,)
    impls = ("ganzoo", "baseline") if args.baseline else ("ganzoo",)

    global CALIBRATION
    m = MACHINE
    print(f"machine: {m['cpu_model']}, {m['cores']} cores @ {m['ghz_nominal']} GHz, "
          f"TF {m['tensorflow']}, Keras {m['keras']}, load {os.getloadavg()[0]:.2f}")
    print(f"peak: fp32 {m['peak_gflops']['float32']:.0f} GFLOP/s, bf16 {m['peak_gflops']['mixed_bfloat16']:.0f} "
          f"GFLOP/s ({m['peak_assumption']})")
    if not args.no_calibrate:
        CALIBRATION = calibrate()
        print("matmul 2048^3: " + ", ".join(
            f"{k} {v['gflops_wall']:.0f} GFLOP/s wall, {v['gflop_per_cpu_s']:.0f} GFLOP per CPU-second"
            for k, v in CALIBRATION.items()))
        raise_peak_to_matmul(m, CALIBRATION)
        print(f"peak used: fp32 {m['peak_gflops']['float32']:.0f} GFLOP/s, "
              f"bf16 {m['peak_gflops']['mixed_bfloat16']:.0f} GFLOP/s")
    print("s/step: median after warm-up; img/s = d_steps*batch / that; %peak: of the peak above (raised to the\n"
          "matmul's GFLOP/s where that is higher);\n"
          "GF/cpu-s: GFLOP per CPU-second this process got; %mm: that / the matmul's GFLOP per CPU-second;\n"
          "cores: CPU cores used by this process / by other processes during the timed steps")
    print(_HEADER)
    started = datetime.datetime.now().isoformat(timespec="seconds")
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    rows = []
    for name in names:
        step_flops_cached(name)
        gap = baseline_gap(ganzoo.get_recipe(name)) if "baseline" in impls else None
        if gap:
            print(f"{name}: no baseline row ({gap})", flush=True)
        configs = [(p, x, i) for p in precisions for x in xlas for i in impls if not (gap and i == "baseline")]
        for r in measure_entry(name, configs, args.steps, args.warmup, args.repeats):
            rows.append(r)
            print(_format(r), flush=True)
    summary = {
        "command": " ".join([os.path.relpath(sys.argv[0]) if sys.argv[0] else "train_step.py", *sys.argv[1:]]),
        "started": started,
        "total_s": round(time.perf_counter() - t_start, 1),
        "loadavg_start": [round(v, 2) for v in load_start],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "measurement": (
            "per entry: every configuration (precision, XLA, impl) is built and warmed up (model.fit of `warmup` "
            "steps), then `repeats` rounds run model.fit of 1 + `steps` steps of each configuration in turn "
            "(interleaved, so all see the same background load), on synthetic in-memory data "
            "(one repeated batch); a callback reads the logged losses (a sync) and samples wall time, process CPU "
            "time and /proc/stat after each batch, so the first step of each window is not timed; "
            "images_per_s = d_steps * batch_size / median timed step time (mean also given); "
            "gflop_per_cpu_s = step FLOPs / CPU seconds this process used per step (all threads)"
        ),
        "flops_method": (
            "analytic, from built Conv2D/Conv2DTranspose/Dense layers (incl. ganzoo's Spectral* subclasses), "
            "2 FLOPs per multiply-add, elementwise ops ignored; step multipliers: see flops[entry].formula"
        ),
        "machine": m,
        "matmul_calibration": CALIBRATION,
        "flops": {name: _FLOPS[name] for name in names},
        "results": rows,
    }
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
        print(f"wrote {args.json}")
    errors = [r for r in rows if "error" in r or not r.get("losses_finite", False)]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
