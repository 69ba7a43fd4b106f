"""What one training step computes, against math stated here: the update direction of each player,
the gradient penalty's alpha, loss scaling under mixed precision, XLA parity and Adam's first step."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from conftest import NON_SATURATING, as_dataset, real_batch, tiny_model


# --- update direction: one SGD step against gradients computed here ----------

SGD_LR = 0.1


def _sgd(gan, lr=SGD_LR):
    """Recompiles `gan` with plain SGD (w <- w - lr * grad) on both players, eagerly."""
    sgd = {"name": "sgd", "learning_rate": lr}
    gan.compile(d_optimizer=sgd, g_optimizer=sgd, run_eagerly=True)
    return gan


def _copy(net):
    clone = keras.models.clone_model(net)
    clone.set_weights(net.get_weights())
    return clone


def _noise_stream(gan):
    """A SeedGenerator in the model's current state: it replays the noise the next step draws."""
    stream = keras.random.SeedGenerator(0)
    stream.state.assign(gan.seed_generator.state.value)
    return stream


def _values(variables):
    return [v.numpy().copy() for v in variables]


def _assert_sgd_update(before, after, grads, lr=SGD_LR):
    """after - before == -lr * grad for every variable, to float32 round-off.

    The tolerance (1e-6 of the largest step) is far below the size of the steps
    themselves, so a step along +grad or along another loss's gradient fails.
    """
    scale = max(float(np.max(np.abs(lr * g))) for g in grads)
    assert scale > 1e-4  # the step is large enough to tell directions apart
    for b, a, g in zip(before, after, grads):
        np.testing.assert_allclose(a - b, -lr * g, rtol=1e-4, atol=1e-6 * scale)


def test_one_sgd_step_moves_each_player_down_its_own_loss_gradient():
    # DCGAN (non-saturating loss), d_steps = 1: one fit step is one D step, then one G step.
    # The model draws every random number from its own SeedGenerator: z1 for the D step's fakes,
    # then z2 for the G step. A copy of the generator's state replays them. Hand-written losses:
    #   D:  L_D = mean softplus(-D(x_real)) + mean softplus(D(G0(z1)))    (= BCE, real 1 / fake 0)
    #   G:  L_G = mean softplus(-D1(G(z2)))                               (= -mean log sigmoid)
    # SGD: D1 = D0 - lr grad_D L_D(D0, G0);  G1 = G0 - lr grad_G L_G(G0, D1), D untouched by the
    # G step. Every network call uses training=True, as the step does (BatchNorm batch statistics).
    gan = _sgd(tiny_model("dcgan_mnist", **NON_SATURATING))
    real = real_batch(gan, per_step=4)
    n = real.shape[0]
    stream = _noise_stream(gan)
    z1 = keras.random.normal((n, gan.latent_dim), seed=stream)
    z2 = keras.random.normal((n, gan.latent_dim), seed=stream)
    G, D = _copy(gan.generator), _copy(gan.discriminator)
    g0, d0 = _values(G.trainable_variables), _values(D.trainable_variables)

    fake = G(z1, training=True)
    with tf.GradientTape() as tape:
        d_loss = tf.reduce_mean(tf.nn.softplus(-D(real, training=True))) + tf.reduce_mean(
            tf.nn.softplus(D(fake, training=True))
        )
    d_grads = [g.numpy() for g in tape.gradient(d_loss, D.trainable_variables)]

    gan.fit(as_dataset(real), epochs=1, verbose=0)

    d1 = _values(gan.discriminator.trainable_variables)
    _assert_sgd_update(d0, d1, d_grads)  # also: the G step did not move D

    for v, value in zip(D.trainable_variables, d1):  # the G step plays against D1
        v.assign(value)

    def g_loss():
        return tf.reduce_mean(tf.nn.softplus(-D(G(z2, training=True), training=True)))

    with tf.GradientTape() as tape:
        before = g_loss()
    g_grads = [g.numpy() for g in tape.gradient(before, G.trainable_variables)]
    g1 = _values(gan.generator.trainable_variables)
    _assert_sgd_update(g0, g1, g_grads)
    # The step lowered the generator's loss on its own z (D frozen at D1).
    for v, value in zip(G.trainable_variables, g1):
        v.assign(value)
    assert float(g_loss()) < float(before) - 1e-4


def test_one_wgan_gp_critic_step_descends_the_penalized_wasserstein_loss():
    # WGAN-GP with one critic step. The step draws z (its fakes), then alpha (batch,) for the
    # penalty, from the model's SeedGenerator; a copy of its state replays both. By hand:
    #   x_hat = alpha x_real + (1 - alpha) G(z)
    #   L_D = mean D(G(z)) - mean D(x_real) + 10 * mean (||grad_x D(x_hat)||_2 - 1)^2
    # and SGD gives D1 = D0 - lr grad_D L_D (the penalty's gradient included).
    gan = _sgd(tiny_model("wgan_gp_mnist", d_steps=1))
    assert gan.gp_weight == 10.0
    real = real_batch(gan, per_step=4)
    n = real.shape[0]
    stream = _noise_stream(gan)
    z = keras.random.normal((n, gan.latent_dim), seed=stream)
    alpha = keras.random.uniform((n,), 0.0, 1.0, seed=stream)
    G, D = _copy(gan.generator), _copy(gan.discriminator)
    d0 = _values(D.trainable_variables)

    fake = G(z, training=True)
    a = tf.reshape(alpha, (n, 1, 1, 1))
    x_hat = a * real + (1.0 - a) * fake
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(x_hat)
            scores = tf.reduce_sum(D(x_hat, training=True))
        norms = tf.norm(tf.reshape(inner.gradient(scores, x_hat), (n, -1)), axis=1)
        gp = tf.reduce_mean(tf.square(norms - 1.0))
        d_loss = (
            tf.reduce_mean(D(fake, training=True)) - tf.reduce_mean(D(real, training=True)) + 10.0 * gp
        )
    d_grads = [g.numpy() for g in outer.gradient(d_loss, D.trainable_variables)]

    history = gan.fit(as_dataset(real), epochs=1, verbose=0).history
    _assert_sgd_update(d0, _values(gan.discriminator.trainable_variables), d_grads)
    assert history["gp"][0] == pytest.approx(float(gp), rel=1e-4)
    assert history["d_loss"][0] == pytest.approx(float(d_loss), rel=1e-4, abs=1e-5)


def test_wgan_gp_logged_critic_loss_is_fake_minus_real_plus_weighted_penalty():
    # The critic's objective (Gulrajani et al. 2017, Algorithm 1, line 7):
    #   L = D(x_fake) - D(x_real) + lambda * GP,  lambda = 10.
    # Every logged value is a mean over the 5 critic steps and the relation is linear, so the
    # epoch means obey it too. Swapping real and fake in the loss flips the sign of the first
    # two terms; a missing penalty drops the last. Three SGD steps (15 critic steps) separate
    # real from fake scores by far more than the float32 round-off of the means (~1e-6).
    gan = _sgd(tiny_model("wgan_gp_mnist"), lr=0.05)
    assert gan.gp_weight == 10.0 and gan.d_steps == 5
    logs = gan.fit(as_dataset(real_batch(gan, per_step=4), repeats=3), epochs=1, verbose=0).history
    d_loss, d_real, d_fake, gp = (logs[k][0] for k in ("d_loss", "d_real", "d_fake", "gp"))
    assert gp > 0.1 and d_real - d_fake > 0.01  # every term matters at this tolerance
    assert d_loss == pytest.approx(d_fake - d_real + 10.0 * gp, rel=0, abs=1e-5)


# --- the gradient penalty's alpha, as the WGAN-GP model draws it ---------------


def test_wgan_gp_draws_a_fresh_uniform_alpha_per_sample_in_every_critic_step(monkeypatch):
    # Gulrajani et al. 2017, Algorithm 1, line 4: inside every critic iteration, for every sample
    # i, eps_i ~ U[0, 1] and x_hat_i = eps_i x_i + (1 - eps_i) x~_i. Record the alpha the model
    # hands to ganzoo.losses.gradient_penalty in a real fit (eager, so the values are concrete).
    import ganzoo.losses

    drawn = []
    penalty = ganzoo.losses.gradient_penalty

    def recording(critic, real, fake, **kwargs):
        alpha = kwargs.get("alpha")
        assert alpha is not None, "the model should draw alpha itself"
        drawn.append((int(real.shape[0]), np.asarray(alpha, dtype="float64")))
        return penalty(critic, real, fake, **kwargs)

    monkeypatch.setattr(ganzoo.losses, "gradient_penalty", recording)
    gan = tiny_model("wgan_gp_mnist", seed=5)
    gan.compile(run_eagerly=True)
    per_step, steps = 32, 8
    gan.fit(as_dataset(real_batch(gan, per_step=per_step), repeats=steps), epochs=1, verbose=0)

    # one draw per critic step, one value per sample of that step's real batch
    assert len(drawn) == steps * gan.d_steps == 40
    for batch, alpha in drawn:
        assert batch == per_step and alpha.shape == (per_step,)
    alphas = np.stack([a for _, a in drawn])  # (critic steps, samples)
    assert alphas.min() >= 0.0 and alphas.max() <= 1.0
    # U[0, 1] has mean 1/2 and variance 1/12. Over 1280 values the standard error of the mean is
    # 0.289 / sqrt(1280) = 0.008, so the bounds below are 5 standard errors wide.
    assert alphas.mean() == pytest.approx(0.5, abs=0.04)
    assert alphas.var() == pytest.approx(1 / 12, abs=0.01)
    # ... and its histogram is flat: each quarter of [0, 1] holds 320 +- 5 sigma (sigma = 15.5).
    counts = np.histogram(alphas, bins=4, range=(0, 1))[0]
    assert np.all(np.abs(counts - 320) < 78), counts
    # Per sample: within one step the values spread like the whole (not one value per batch).
    assert np.all(alphas.std(axis=1) > 0.15)
    # Fresh per step: no two steps share a draw, and consecutive steps are uncorrelated
    # (|r| of independent 32-vectors is below 0.7 with probability ~1 - 1e-5).
    assert len({a.tobytes() for a in alphas}) == len(alphas)
    for a, b in zip(alphas[:-1], alphas[1:]):
        assert abs(np.corrcoef(a, b)[0, 1]) < 0.7


# --- mixed precision: one loss-scaled float16 step against the float32 step ----


def _one_sgd_step(name, policy, per_step, weights=None, **overrides):
    """One fit step with SGD(0.1) under `policy`, from `weights` (None: the seed's initial ones).

    Returns (initial weights of both networks, trainable values before, after, the model).
    """
    keras.mixed_precision.set_global_policy(policy)
    gan = tiny_model(name, **overrides)
    nets = (gan.generator, gan.discriminator)
    if weights is not None:
        for net, w in zip(nets, weights):
            net.set_weights(w)
    sgd = {"name": "sgd", "learning_rate": 0.1}
    gan.compile(d_optimizer=sgd, g_optimizer=sgd)
    initial = [net.get_weights() for net in nets]
    before = [_values(net.trainable_variables) for net in nets]
    gan.fit(as_dataset(real_batch(gan, per_step=per_step)), epochs=1, verbose=0)
    after = [_values(net.trainable_variables) for net in nets]
    return initial, before, after, gan


@pytest.mark.parametrize("name, per_step, overrides", [
    ("wgan_gp_mnist", 16, {"d_steps": 1}),
    # The paper's loss: with R1/R2 the first steps at scale 2^15 overflow and are skipped (as dynamic
    # loss scaling intends), so one step would not be comparable.
    ("dcgan_mnist", 64, NON_SATURATING),
])
def test_a_mixed_float16_step_moves_the_weights_like_the_float32_step(name, per_step, overrides):
    # The same initial weights, batch and noise (same seed) under float32 and mixed_float16.
    # Under mixed_float16 the engine scales each loss by the LossScaleOptimizer's scale (2^15 at
    # first) and the optimizer divides the gradients by it before the SGD update, so each
    # network's update d = w_after - w_before must equal the float32 update up to float16
    # round-off: ||d16 - d32|| / ||d32|| measured 0.3-2.5% here (the relative error of the
    # float16 backward pass through a whole network, incl. BatchNorm), hence the bound 5e-2.
    # Gradients left scaled would make the update 2^15 times larger (relative error ~3e4); a
    # skipped step (non-finite scaled gradients) or gradients unscaled twice gives ~1.
    initial, before32, after32, _ = _one_sgd_step(name, "float32", per_step, **overrides)
    _, before16, after16, gan = _one_sgd_step(name, "mixed_float16", per_step, initial, **overrides)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert gan.discriminator.layers[1].compute_dtype == "float16"
    # No step was skipped: both optimizers applied their update.
    assert int(gan.d_optimizer.iterations) == gan.d_steps and int(gan.g_optimizer.iterations) == 1
    for k, net in ((1, "discriminator"), (0, "generator")):  # in the order they step
        for x, y in zip(before32[k], before16[k]):
            np.testing.assert_array_equal(x, y)  # identical start
        d32 = np.concatenate([(a - b).ravel() for a, b in zip(after32[k], before32[k])])
        d16 = np.concatenate([(a - b).ravel() for a, b in zip(after16[k], before16[k])])
        assert np.linalg.norm(d32) > 1e-3, net
        rel = np.linalg.norm(d16 - d32) / np.linalg.norm(d32)
        assert rel < 5e-2, f"{net}: ||d16 - d32|| / ||d32|| = {rel:.4g}"


# --- XLA: the compiled step computes what the plain step computes ------------------------

_NOISE_TABLE = np.random.default_rng(0).standard_normal((97, 4096)).astype("float32")


def _table_draw(seed, shape):
    """Row ``(s0 * 31 + s1) % 97`` of a fixed table, for the SeedGenerator state (s0, s1) it advances."""
    from keras.src.random.seed_generator import draw_seed

    state = tf.cast(draw_seed(seed), tf.int64)
    row = tf.gather(tf.constant(_NOISE_TABLE), tf.math.floormod(state[0] * 31 + state[1], 97))
    shape = tf.stack([tf.cast(d, tf.int32) for d in shape])
    return tf.reshape(row[: tf.reduce_prod(shape)], shape)


def _table_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return tf.cast(_table_draw(seed, shape) * stddev + mean, dtype or "float32")


def _table_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    u = 0.5 * (1.0 + tf.math.erf(_table_draw(seed, shape) / np.sqrt(2.0)))  # normal -> U(0, 1)
    return tf.cast(minval + (maxval - minval) * u, dtype or "float32")


@pytest.mark.parametrize("name, overrides, lr", [
    # BatchNorm in both networks (by default through the lazy-R1 case below, which adds a branch)
    pytest.param("dcgan_mnist", {}, 0.1, marks=pytest.mark.slow),
    ("wgan_gp_mnist", {"d_steps": 1}, 1e-3),  # the penalty's nested tapes
    pytest.param("wgan_gp_mnist", {}, 1e-3, marks=pytest.mark.slow),  # 5 critic steps (lr 0.1 diverges)
    pytest.param("sngan_mnist", {}, 0.1, marks=pytest.mark.slow),  # spectral norm's in-place power iteration
    # Lazy R1 (computed on even D steps) takes its own path under XLA: the penalty is computed on
    # every step and multiplied by 0 when not due; the discriminator state that computation moves
    # (BatchNorm statistics here) must be put back on those steps.
    ("dcgan_mnist", {"r1_weight": 1.0, "penalty_interval": 2}, 0.1),
    pytest.param("sngan_mnist", {"r1_weight": 1.0, "penalty_interval": 2}, 0.1,
                 marks=pytest.mark.slow),  # spectral-norm vectors
])
def test_an_xla_train_step_matches_the_plain_step(monkeypatch, name, overrides, lr):
    # Two fit steps from the same weights, batch and SeedGenerator state, with SGD (its update is
    # linear in the gradient: no Adam normalization that turns round-off into whole steps), once
    # with jit_compile=False and once with jit_compile=True: the logged losses and every weight
    # (both networks, BatchNorm statistics, spectral-norm vectors) must agree to round-off.
    # TensorFlow's stateless random kernels give other numbers under XLA on CPU (same seed,
    # different values, whatever the algorithm), so the model's draws come from a fixed table
    # indexed by its SeedGenerator state instead; the order and number of draws are the model's.
    monkeypatch.setattr(keras.random, "normal", _table_normal)
    monkeypatch.setattr(keras.random, "uniform", _table_uniform)
    runs = {}
    for jit in (False, True):
        gan = tiny_model(name, seed=3, **overrides)
        sgd = {"name": "sgd", "learning_rate": lr}
        gan.compile(d_optimizer=sgd, g_optimizer=sgd, jit_compile=jit)
        assert gan.jit_compile is jit
        before = _values(gan.weights)
        logs = gan.fit(as_dataset(real_batch(gan, per_step=8), repeats=2), epochs=1, verbose=0).history
        assert int(gan.g_optimizer.iterations) == 2
        runs[jit] = before, _values(gan.weights), {k: v[0] for k, v in logs.items()}
    (start, plain, plain_logs), (xla_start, xla, xla_logs) = runs[False], runs[True]
    for a, b in zip(start, xla_start):
        np.testing.assert_array_equal(a, b)  # identical starting points
    assert plain_logs.keys() == xla_logs.keys()
    for key, value in plain_logs.items():
        assert np.isfinite(value), key
        assert xla_logs[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    floats = [i for i, w in enumerate(start) if w.dtype.kind == "f"]
    step = max(float(np.max(np.abs(plain[i] - start[i]))) for i in floats)
    assert step > 1e-4  # the steps are large enough to tell a different update apart
    for i in floats:  # measured: at most 1e-5 of the largest step
        np.testing.assert_allclose(xla[i], plain[i], rtol=0, atol=1e-4 * step)


# --- Adam's first step ------------------------------------------------------------------

# The small-data options under XLA ride along (one compile instead of two): ADA's p update,
# LeCam's anchors and lazy R1's branch.
SMALL_DATA_XLA = dict(augment={"name": "ada", "initial_p": 0.5}, r1_weight=1.0, penalty_interval=2,
                      lecam_weight=0.1)


@pytest.mark.parametrize("name, overrides", [
    ("dcgan_mnist", {"num_classes": 10, **SMALL_DATA_XLA}),  # a label embedding
    pytest.param("sngan_projection_mnist", {}, marks=pytest.mark.slow),  # conditional BN, projection
])
def test_a_conditional_gan_trains_under_xla(name, overrides):
    # The in-step label checks format their message with tf.strings.format, which XLA cannot
    # compile; under jit_compile the pipeline checks the labels instead.
    gan = tiny_model(name, jit_compile=True, **overrides)
    batch = real_batch(gan, per_step=4)
    logs = gan.fit(as_dataset(batch, repeats=2), verbose=0).history
    assert int(gan.g_optimizer.iterations) == 2
    expected = {"d_loss", "g_loss"} | ({"r1", "lecam", "aug_p"} if "lecam_weight" in overrides else set())
    assert expected <= set(logs) and all(np.isfinite(logs[k][0]) for k in expected), logs
    images, labels = batch
    # A second batch with out-of-range labels: refused by the pipeline's check.
    two = tf.data.Dataset.from_tensor_slices(
        (np.stack([images, images]), np.stack([labels, np.full_like(labels, 10)])))
    with pytest.raises(ValueError, match=r"labels in \[10, 10\]") as error:
        gan.fit(two, verbose=0)
    assert isinstance(error.value.__cause__, tf.errors.InvalidArgumentError)


@pytest.mark.parametrize("name, overrides", [
    ("dcgan_mnist", {}),
    # Per-class parameters: Keras 3.15's Adam mishandles IndexedSlices gradients with repeated
    # rows (sum of squares instead of square of the sum); GAN._apply densifies them.
    ("dcgan_mnist", {"num_classes": 10}),  # label embedding
    ("sngan_projection_mnist", {}),  # conditional batch norm
])
def test_adams_first_step_moves_no_generator_weight_more_than_the_learning_rate(name, overrides):
    # Adam (Kingma & Ba 2015, Algorithm 1) at step 1: m = (1 - b1) g, v = (1 - b2) g^2 and the
    # bias-corrected update is lr * g / (|g| + eps): every weight moves by at most lr, and the
    # weights with a clear gradient by almost exactly lr. Per-class parameters looked up with
    # repeated labels must follow the same rule (their gradient is the sum over the batch).
    gan = tiny_model(name, **overrides)
    lr = 1e-3
    adam = {"name": "adam", "learning_rate": lr}
    gan.compile(d_optimizer=adam, g_optimizer=adam, run_eagerly=True)
    before = _values(gan.generator.trainable_variables)
    gan.fit(as_dataset(real_batch(gan, per_step=16)), epochs=1, verbose=0)
    moves = {v.path: float(np.max(np.abs(v.numpy() - b)))
             for v, b in zip(gan.generator.trainable_variables, before)}
    assert max(moves.values()) > 0.9 * lr
    too_far = {k: round(m / lr, 3) for k, m in moves.items() if m > 1.001 * lr}
    assert not too_far, f"moved more than lr (in units of lr): {too_far}"
