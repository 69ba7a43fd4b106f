"""Adversarial losses and the gradient penalty against hand-computed values."""

import math

import numpy as np
import pytest
import tensorflow as tf
import keras

from ganzoo import losses

REAL = np.array([[2.0], [-1.0]], dtype="float32")
FAKE = np.array([[0.5], [-3.0]], dtype="float32")


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_bce_discriminator_loss_matches_cross_entropy_by_hand():
    # -log D(real) - log(1 - D(fake)), averaged over each batch.
    expected = np.mean([-math.log(_sigmoid(2.0)), -math.log(_sigmoid(-1.0))]) + np.mean(
        [-math.log(1 - _sigmoid(0.5)), -math.log(1 - _sigmoid(-3.0))]
    )
    for name in ("non_saturating", "minimax"):
        got = float(losses.get_loss(name).discriminator(REAL, FAKE))
        assert got == pytest.approx(expected, rel=1e-6)


def test_non_saturating_and_minimax_generator_losses():
    ns = np.mean([-math.log(_sigmoid(0.5)), -math.log(_sigmoid(-3.0))])
    mm = np.mean([math.log(1 - _sigmoid(0.5)), math.log(1 - _sigmoid(-3.0))])
    assert float(losses.non_saturating_generator_loss(FAKE)) == pytest.approx(ns, rel=1e-6)
    assert float(losses.minimax_generator_loss(FAKE)) == pytest.approx(mm, rel=1e-6)


def test_non_saturating_keeps_gradient_where_minimax_saturates():
    # When D confidently rejects a fake (logit -10), d/dl of the minimax loss is
    # -sigmoid(-10) ~ -4.5e-5 (vanishes) while the non-saturating one is ~ -1.
    logit = tf.Variable([[-10.0]])
    with tf.GradientTape(persistent=True) as tape:
        ns = losses.non_saturating_generator_loss(logit)
        mm = losses.minimax_generator_loss(logit)
    assert float(tape.gradient(ns, logit)[0, 0]) == pytest.approx(-_sigmoid(10.0), rel=1e-5)
    assert float(tape.gradient(mm, logit)[0, 0]) == pytest.approx(-_sigmoid(-10.0), rel=1e-3)


def test_wasserstein_loss():
    # E[D(fake)] - E[D(real)] = -1.25 - 0.5; generator: -E[D(fake)] = 1.25
    assert float(losses.wasserstein_discriminator_loss(REAL, FAKE)) == pytest.approx(-1.75)
    assert float(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(1.25)


def test_hinge_loss():
    # real: relu(1-2)=0, relu(1+1)=2 -> 1.0; fake: relu(1.5)=1.5, relu(-2)=0 -> 0.75
    assert float(losses.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx(1.75)
    assert float(losses.get_loss("hinge").generator(FAKE)) == pytest.approx(1.25)


def test_least_squares_loss():
    # 0.5*mean((r-1)^2) + 0.5*mean(f^2) = 0.5*2.5 + 0.5*4.625; generator 0.5*mean((f-1)^2)
    assert float(losses.least_squares_discriminator_loss(REAL, FAKE)) == pytest.approx(3.5625)
    assert float(losses.least_squares_generator_loss(FAKE)) == pytest.approx(4.0625)


@pytest.mark.parametrize("name", losses.available_losses())
def test_losses_are_finite_float32_scalars_on_extreme_logits(name):
    loss = losses.get_loss(name)
    big = np.array([[100.0], [-100.0]], dtype="float32")
    d = loss.discriminator(big, -big)
    fake = tf.constant(big, dtype="bfloat16")
    g = loss.generator(fake, -big) if loss.pairs_real_and_fake else loss.generator(fake)
    for value in (d, g):
        assert value.dtype == tf.float32 and value.shape == ()
        assert np.isfinite(float(value))


# Exact values at logits +-100 (r: real logit, f: fake logit), from the definitions:
#   softplus(100) = 100 + log(1 + e^-100) = 100 to float32 precision; softplus(-100) = e^-100 ~ 4e-44,
#   softplus(200) = 200; softplus(-200) = e^-200 = 0 in float32.
# A log(sigmoid(x) + 1e-7) implementation caps -log at -log(1e-7) = 16.1 per term (32.2 for
# two), and its gradient vanishes there; relu / square / linear losses have no such cap.
TINY = 1e-30  # "zero": e^-100 and e^-200 are below it, and every wrong value is far above
EXTREME = [
    # (loss, r, f, discriminator loss, generator loss)
    ("non_saturating", 100.0, 100.0, 100.0, 0.0),      # D: sp(-100) + sp(100); G: sp(-100)
    ("non_saturating", -100.0, -100.0, 100.0, 100.0),  # D: sp(100) + sp(-100); G: sp(100)
    ("non_saturating", -100.0, 100.0, 200.0, 0.0),     # D: both wrong by 100
    ("non_saturating", 100.0, -100.0, 0.0, 100.0),     # D: both right
    ("minimax", -100.0, 100.0, 200.0, -100.0),         # G: -sp(f) = -sp(100)
    ("minimax", 100.0, -100.0, 0.0, 0.0),              # G: -sp(-100) = -e^-100
    ("wasserstein", -100.0, 100.0, 200.0, -100.0),     # D: f - r; G: -f
    ("wasserstein", 100.0, -100.0, -200.0, 100.0),
    ("hinge", -100.0, 100.0, 202.0, -100.0),           # D: relu(1 - r) + relu(1 + f) = 101 + 101
    ("hinge", 100.0, -100.0, 0.0, 100.0),              # D: relu(-99) + relu(-99); G: -f
    ("least_squares", -100.0, 100.0, 10100.5, 4900.5),  # D: (101^2 + 100^2) / 2; G: 99^2 / 2
    ("least_squares", 100.0, -100.0, 9900.5, 5100.5),   # D: (99^2 + 100^2) / 2; G: 101^2 / 2
    ("relativistic", -100.0, 100.0, 200.0, 0.0),       # D: sp(f - r) = sp(200); G: sp(r - f) = sp(-200)
    ("relativistic", 100.0, -100.0, 0.0, 200.0),
]


@pytest.mark.parametrize("name, r, f, d_expected, g_expected", EXTREME)
def test_losses_at_extreme_logits_take_their_exact_values(name, r, f, d_expected, g_expected):
    loss = losses.get_loss(name)
    real = tf.constant([[r], [r]], tf.float32)
    fake = tf.constant([[f], [f]], tf.float32)
    d = float(loss.discriminator(real, fake))
    g = float(loss.generator(fake, real) if loss.pairs_real_and_fake else loss.generator(fake))
    for got, expected in ((d, d_expected), (g, g_expected)):
        if expected == 0.0:
            assert abs(got) < TINY, (got, expected)
        else:
            assert got == pytest.approx(expected, rel=1e-6), (got, expected)


def test_log_sigmoid_losses_keep_unit_gradients_at_extreme_logits():
    # d/dr softplus(-r) = -sigmoid(-r) = -1 at r = -100 (a confidently wrong real logit), and
    # d/df of the non-saturating G loss softplus(-f) is -sigmoid(-f) = -1 at f = -100. A
    # log(sigmoid + 1e-7) version has gradient ~ -e^-100 / 1e-7 ~ 0 there: it stops learning.
    # (Each loss is a batch mean over 2 equal logits, so each logit's gradient is half of it.)
    real = tf.Variable([[-100.0], [-100.0]])
    fake = tf.Variable([[-100.0], [-100.0]])
    with tf.GradientTape(persistent=True) as tape:
        d = losses.bce_discriminator_loss(real, fake)
        g = losses.non_saturating_generator_loss(fake)
    np.testing.assert_allclose(tape.gradient(d, real).numpy(), -0.5, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(g, fake).numpy(), -0.5, rtol=1e-6)


def test_unknown_loss_suggests_a_name():
    with pytest.raises(ValueError, match=r"Did you mean 'hinge'.*Received: loss='hinje'"):
        losses.get_loss("hinje")


# --- gradient penalty -------------------------------------------------------


class LinearCritic:
    """f(x) = sum(w * x): its input gradient is w everywhere."""

    def __init__(self, w):
        self.w = tf.constant(w)

    def __call__(self, x, training=False):
        return tf.reduce_sum(self.w * x, axis=[1, 2, 3])[:, None]


class QuadraticCritic:
    """f(x) = 0.5 * ||x||^2: its input gradient is x itself."""

    def __call__(self, x, training=False):
        return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]


def test_gradient_penalty_of_linear_critic_is_norm_of_weights_minus_one_squared():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 4, 2)).astype("float32")
    real = rng.normal(size=(8, 4, 4, 2)).astype("float32")
    fake = rng.normal(size=(8, 4, 4, 2)).astype("float32")
    gp = losses.gradient_penalty(LinearCritic(w), real, fake, seed=1)
    assert float(gp) == pytest.approx((np.linalg.norm(w) - 1.0) ** 2, rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_penalty_draws_alpha_uniform_per_sample(seed):
    # real has norm c, fake = 0, so ||grad|| = ||x_hat|| = alpha * c and the penalty
    # estimates E[(c * alpha - 1)^2] = c^2/3 - c + 1 for alpha ~ U(0, 1) (7/3 for c = 4).
    # alpha ~ N(0, 1) would give about 10.6, alpha per pixel about 1.7, and one alpha
    # for the whole batch a value that swings between 0 and 9 with the seed.
    c, n, d = 4.0, 4096, 4
    real = np.full((n, 2, 2, 1), c / math.sqrt(d), dtype="float32")
    fake = np.zeros_like(real)
    gp = losses.gradient_penalty(QuadraticCritic(), real, fake, seed=seed)
    assert float(gp) == pytest.approx(c * c / 3 - c + 1, abs=0.12)


def test_gradient_penalty_has_finite_gradient_at_zero_input_gradient():
    # f(x) = w * sum(x) with w = 0: the input gradient is exactly 0. A plain sqrt
    # would give 0/0 = NaN in d(penalty)/dw; the safe norm gives a finite value.
    w = tf.Variable(0.0)

    def critic(x, training=False):
        return w * tf.reduce_sum(x, axis=[1, 2, 3])[:, None]

    real = tf.ones((4, 2, 2, 1))
    fake = tf.zeros((4, 2, 2, 1))
    with tf.GradientTape() as tape:
        gp = losses.gradient_penalty(critic, real, fake, seed=0)
    grad = tape.gradient(gp, w)
    assert float(gp) == pytest.approx(1.0, abs=1e-5)
    assert np.isfinite(float(grad))


def test_gradient_penalty_passes_labels_to_a_conditional_critic():
    seen = {}

    def critic(inputs, training=False):
        x, y = inputs
        seen["labels"] = y
        return tf.reduce_sum(x, axis=[1, 2, 3])[:, None] * tf.cast(y + 1, "float32")[:, None]

    real = tf.ones((2, 2, 2, 1))
    labels = tf.constant([0, 2])
    gp = losses.gradient_penalty(critic, real, tf.zeros_like(real), labels=labels, seed=0)
    # grad norms: (y+1) * sqrt(4) = 2 and 6 -> ((2-1)^2 + (6-1)^2) / 2 = 13
    assert float(gp) == pytest.approx(13.0, rel=1e-5)
    assert seen["labels"] is labels


def test_gradient_penalty_is_reproducible_with_a_seed_generator():
    real = tf.ones((16, 2, 2, 1))
    fake = tf.zeros_like(real)
    a = losses.gradient_penalty(QuadraticCritic(), real, fake, seed=keras.random.SeedGenerator(3))
    b = losses.gradient_penalty(QuadraticCritic(), real, fake, seed=keras.random.SeedGenerator(3))
    assert float(a) == float(b)


def test_gradient_penalty_with_given_alpha_is_exact():
    # quadratic critic, fake = 0: ||grad|| = alpha_i * ||real_i||
    real = np.zeros((3, 1, 1, 2), "float32")
    real[:, 0, 0, 0] = [2.0, 4.0, 1.0]
    alpha = np.array([0.5, 0.5, 0.25], "float32")
    gp = losses.gradient_penalty(QuadraticCritic(), real, np.zeros_like(real), alpha=alpha)
    expected = np.mean([(0.5 * 2 - 1) ** 2, (0.5 * 4 - 1) ** 2, (0.25 * 1 - 1) ** 2])  # 0.5208
    assert float(gp) == pytest.approx(expected, abs=1e-6)


# --- R1 / R2, RpGAN, LeCam (small-data training) ---------------------------


def _linear_critic(w):
    w = tf.constant(w)

    def critic(x):
        return tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]

    return critic


def test_r1_of_a_linear_critic_is_the_squared_norm_of_its_weights():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 3, 3, 2)).astype("float32")
    x = rng.normal(size=(5, 3, 3, 2)).astype("float32")
    expected = float(np.sum(w ** 2))  # grad_x <w, x> = w for every sample
    assert float(losses.r1_penalty(_linear_critic(w), x)) == pytest.approx(expected, rel=1e-5)
    assert float(losses.r2_penalty(_linear_critic(w), -x)) == pytest.approx(expected, rel=1e-5)


def test_r1_and_r2_of_a_quadratic_critic_match_the_closed_form():
    # D(x) = 0.5 * sum(a * x^2): grad = a * x, so R = mean_i sum(a^2 x_i^2).
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 2.0, size=(1, 2, 2, 1)).astype("float32")
    real = rng.normal(size=(4, 2, 2, 1)).astype("float32")
    fake = rng.normal(size=(4, 2, 2, 1)).astype("float32")

    def critic(x):
        return 0.5 * tf.reduce_sum(a * tf.square(x), axis=[1, 2, 3])[:, None]

    def closed(x):
        return float(np.mean(np.sum((a * x) ** 2, axis=(1, 2, 3))))

    assert float(losses.r1_penalty(critic, real)) == pytest.approx(closed(real), rel=1e-5)
    assert float(losses.r2_penalty(critic, fake)) == pytest.approx(closed(fake), rel=1e-5)


def test_r1_passes_labels_to_a_conditional_critic():
    seen = {}

    def critic(inputs):
        x, y = inputs
        seen["labels"] = np.array(y)
        return tf.reduce_sum(x, axis=[1, 2, 3])[:, None] * tf.cast(y[:, None] + 1, "float32")

    x = np.ones((2, 2, 2, 1), "float32")
    # grad = (y + 1) everywhere: ||grad||^2 = 4 (y + 1)^2 -> mean(4, 16) = 10
    assert float(losses.r1_penalty(critic, x, labels=tf.constant([0, 1]))) == pytest.approx(10.0)
    assert seen["labels"].tolist() == [0, 1]


def test_r2_gives_no_gradient_to_the_generated_images():
    fake = tf.Variable(np.ones((2, 2, 2, 1), "float32"))
    with tf.GradientTape() as tape:
        r2 = losses.r2_penalty(lambda x: tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None], fake)
    assert tape.gradient(r2, fake) is None


def test_relativistic_pairing_loss_on_hand_computed_logits():
    loss = losses.get_loss("relativistic")
    assert loss.pairs_real_and_fake and not losses.get_loss("hinge").pairs_real_and_fake
    # pairs (2.0, 0.5) and (-1.0, -3.0): differences r - f = 1.5 and 2.0
    d = np.mean([math.log1p(math.exp(-1.5)), math.log1p(math.exp(-2.0))])
    g = np.mean([math.log1p(math.exp(1.5)), math.log1p(math.exp(2.0))])
    assert float(loss.discriminator(REAL, FAKE)) == pytest.approx(d, rel=1e-6)
    assert float(loss.generator(FAKE, REAL)) == pytest.approx(g, rel=1e-6)
    # equal logits: log 2 for both players
    same = np.zeros((3, 1), "float32")
    assert float(loss.discriminator(same, same)) == pytest.approx(math.log(2.0))


def test_lecam_penalizes_only_outputs_past_the_other_anchor():
    real = np.array([[1.0], [-0.5], [3.0]], "float32")
    fake = np.array([[-2.0], [0.5]], "float32")
    a_real, a_fake = 0.8, -0.2
    # relu(D(x) - a_fake)^2: 1.2^2, 0 (since -0.5 < -0.2), 3.2^2 -> mean; relu(a_real - D(G(z)))^2: 2.8^2, 0.3^2
    expected = np.mean([1.2 ** 2, 0.0, 3.2 ** 2]) + np.mean([2.8 ** 2, 0.3 ** 2])
    got = float(losses.lecam_penalty(real, fake, a_real, a_fake))
    assert got == pytest.approx(expected, rel=1e-6)
    assert float(losses.lecam_penalty(real * 0 - 5, fake * 0 + 5, 0.0, 0.0)) == 0.0
