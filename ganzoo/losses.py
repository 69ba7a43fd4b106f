"""Adversarial losses and penalties as pure functions.

Every loss takes discriminator **logits** (raw, unbounded outputs) and returns a
float32 scalar: the mean over the batch it was given. Under ``tf.distribute``
the GAN engine divides by the number of replicas before taking gradients, so a
loss here is never scaled twice.

Losses (``get_loss(name)`` returns the discriminator and generator halves):

* ``"non_saturating"`` and ``"minimax"``: Goodfellow et al. 2014,
  "Generative Adversarial Nets" (arXiv:1406.2661). The discriminator minimises
  the binary cross-entropy of real-vs-fake; the minimax generator minimises
  ``log(1 - D(G(z)))``, the non-saturating one maximises ``log D(G(z))``.
* ``"wasserstein"``: Arjovsky et al. 2017, "Wasserstein GAN"
  (arXiv:1701.07875), used with the gradient penalty of Gulrajani et al. 2017,
  "Improved Training of Wasserstein GANs" (arXiv:1704.00028).
* ``"hinge"``: Lim & Ye 2017, "Geometric GAN" (arXiv:1705.02894), as used by
  Miyato et al. 2018, "Spectral Normalization for GANs" (arXiv:1802.05957).
* ``"least_squares"``: Mao et al. 2017, "Least Squares Generative Adversarial
  Networks" (arXiv:1611.04076), with targets a=0 (fake), b=1 (real), c=1.
* ``"relativistic"``: the relativistic pairing loss (RpGAN) of Jolicoeur-Martineau
  2018 (arXiv:1807.00734), as used by Huang et al. 2024, "The GAN is dead;
  long live the GAN! A Modern GAN Baseline" (R3GAN, arXiv:2501.05441). Each
  real logit is paired with one fake logit, so its generator half also needs
  the real logits (``AdversarialLoss.pairs_real_and_fake``).

Penalties (unweighted; the engine multiplies by the recipe's weight):
`gradient_penalty` (WGAN-GP), `r1_penalty` / `r2_penalty` (Mescheder et al.
2018) and `lecam_penalty` (Tseng et al. 2021).
"""

import collections
import difflib

import tensorflow as tf


def _as_float32(x):
    return tf.cast(x, tf.float32)


def _mean(x):
    return tf.reduce_mean(_as_float32(x))


# --- discriminator halves -------------------------------------------------


def bce_discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy of real (label 1) vs fake (label 0) on logits.

    ``-log sigmoid(r) - log(1 - sigmoid(f)) = softplus(-r) + softplus(f)``.

    Args:
        real_logits: Tensor (batch, 1) or (batch,), logits on real images.
        fake_logits: Tensor, logits on generated images.

    Returns:
        float32 scalar.
    """
    return _mean(tf.nn.softplus(-_as_float32(real_logits))) + _mean(
        tf.nn.softplus(_as_float32(fake_logits))
    )


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Critic loss ``E[D(fake)] - E[D(real)]`` (Arjovsky et al. 2017)."""
    return _mean(fake_logits) - _mean(real_logits)


def hinge_discriminator_loss(real_logits, fake_logits):
    """``E[relu(1 - D(real))] + E[relu(1 + D(fake))]`` (Lim & Ye 2017)."""
    return _mean(tf.nn.relu(1.0 - _as_float32(real_logits))) + _mean(
        tf.nn.relu(1.0 + _as_float32(fake_logits))
    )


def least_squares_discriminator_loss(real_logits, fake_logits):
    """``0.5 E[(D(real) - 1)^2] + 0.5 E[D(fake)^2]`` (Mao et al. 2017)."""
    return 0.5 * _mean(tf.square(_as_float32(real_logits) - 1.0)) + 0.5 * _mean(
        tf.square(_as_float32(fake_logits))
    )


def relativistic_discriminator_loss(real_logits, fake_logits):
    """RpGAN: ``E[softplus(-(D(x_i) - D(G(z_i))))]`` over pairs (Huang et al. 2024, eq. 2).

    Args:
        real_logits: Tensor (batch, 1) or (batch,).
        fake_logits: Tensor of the same shape; row i is paired with row i of
            `real_logits`.

    Returns:
        float32 scalar.
    """
    return _mean(tf.nn.softplus(_as_float32(fake_logits) - _as_float32(real_logits)))


# --- generator halves -----------------------------------------------------


def non_saturating_generator_loss(fake_logits):
    """``-E[log sigmoid(D(fake))] = E[softplus(-D(fake))]`` (Goodfellow et al. 2014)."""
    return _mean(tf.nn.softplus(-_as_float32(fake_logits)))


def minimax_generator_loss(fake_logits):
    """``E[log(1 - sigmoid(D(fake)))] = -E[softplus(D(fake))]`` (Goodfellow et al. 2014)."""
    return -_mean(tf.nn.softplus(_as_float32(fake_logits)))


def wasserstein_generator_loss(fake_logits):
    """``-E[D(fake)]``: the generator half of both the Wasserstein and hinge losses."""
    return -_mean(fake_logits)


def least_squares_generator_loss(fake_logits):
    """``0.5 E[(D(fake) - 1)^2]`` (Mao et al. 2017, c = 1)."""
    return 0.5 * _mean(tf.square(_as_float32(fake_logits) - 1.0))


def relativistic_generator_loss(fake_logits, real_logits):
    """RpGAN generator half: ``E[softplus(-(D(G(z_i)) - D(x_i)))]`` over pairs (Huang et al. 2024)."""
    return _mean(tf.nn.softplus(_as_float32(real_logits) - _as_float32(fake_logits)))


AdversarialLoss = collections.namedtuple(
    "AdversarialLoss",
    ["name", "discriminator", "generator", "reference", "pairs_real_and_fake"],
    defaults=[False],
)
AdversarialLoss.__doc__ = """An adversarial loss: ``discriminator(real_logits, fake_logits)`` and
``generator(fake_logits)``, or ``generator(fake_logits, real_logits)`` when
``pairs_real_and_fake`` is True (the generator step then needs a real batch of
the same size as its fake batch)."""

_LOSSES = {
    "non_saturating": AdversarialLoss(
        "non_saturating",
        bce_discriminator_loss,
        non_saturating_generator_loss,
        "Goodfellow et al. 2014, arXiv:1406.2661",
    ),
    "minimax": AdversarialLoss(
        "minimax",
        bce_discriminator_loss,
        minimax_generator_loss,
        "Goodfellow et al. 2014, arXiv:1406.2661",
    ),
    "wasserstein": AdversarialLoss(
        "wasserstein",
        wasserstein_discriminator_loss,
        wasserstein_generator_loss,
        "Arjovsky et al. 2017, arXiv:1701.07875",
    ),
    "hinge": AdversarialLoss(
        "hinge",
        hinge_discriminator_loss,
        wasserstein_generator_loss,
        "Lim & Ye 2017, arXiv:1705.02894",
    ),
    "least_squares": AdversarialLoss(
        "least_squares",
        least_squares_discriminator_loss,
        least_squares_generator_loss,
        "Mao et al. 2017, arXiv:1611.04076",
    ),
    "relativistic": AdversarialLoss(
        "relativistic",
        relativistic_discriminator_loss,
        relativistic_generator_loss,
        "Jolicoeur-Martineau 2018, arXiv:1807.00734; Huang et al. 2024, arXiv:2501.05441",
        True,
    ),
}


def available_losses():
    """Names accepted by `get_loss`, sorted."""
    return sorted(_LOSSES)


def get_loss(name):
    """Returns the `AdversarialLoss` (discriminator and generator halves) called `name`.

    Raises:
        ValueError: if `name` is not one of `available_losses()`.
    """
    if isinstance(name, str) and name in _LOSSES:
        return _LOSSES[name]
    close = difflib.get_close_matches(str(name), list(_LOSSES), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(
        f"Unknown adversarial loss. Expected one of {available_losses()}.{hint} "
        f"Received: loss={name!r}"
    )


# --- penalties ------------------------------------------------------------


def gradient_penalty(
    critic, real, fake, *, labels=None, seed=None, alpha=None, training=True, epsilon=1e-12
):
    """Two-sided gradient penalty of WGAN-GP (Gulrajani et al. 2017, Algorithm 1).

    For each sample, ``x_hat = alpha * real + (1 - alpha) * fake`` with
    ``alpha ~ U(0, 1)`` drawn once per sample; the penalty is the **unweighted**
    batch mean of ``(||grad_x critic(x_hat)||_2 - 1)^2``. The norm is computed
    as ``sqrt(sum(g^2) + epsilon)`` so that a zero gradient gives a finite
    gradient of the penalty (plain ``sqrt`` has an infinite derivative at 0).
    Multiply by the penalty weight (lambda = 10 in the paper) outside.

    Args:
        critic: callable mapping images (or ``[images, labels]`` when `labels`
            is given) of shape (batch, H, W, C) to scores of shape (batch, 1).
        real: float Tensor (batch, H, W, C).
        fake: float Tensor of the same shape.
        labels: optional int Tensor (batch,) passed to a conditional critic.
        seed: a `keras.random.SeedGenerator` (or int) for alpha.
        alpha: optional float Tensor (batch,) of mixing weights to use instead
            of drawing them (the GAN engine draws them itself so that replicas
            under tf.distribute get independent values).
        training: passed to the critic call.
        epsilon: added under the square root of the squared norm.

    Returns:
        float32 scalar.
    """
    import keras  # local import keeps this module importable without building Keras state

    real = _as_float32(real)
    fake = _as_float32(fake)
    if real.shape.rank is not None and fake.shape.rank is not None:
        if real.shape.rank != fake.shape.rank:
            raise ValueError(
                "gradient_penalty expects real and fake batches of the same rank. "
                f"Received: real.shape={real.shape}, fake.shape={fake.shape}"
            )
    batch = tf.shape(real)[0]
    alpha_shape = tf.concat([[batch], tf.ones([tf.rank(real) - 1], tf.int32)], 0)
    if alpha is None:
        alpha = keras.random.uniform(alpha_shape, 0.0, 1.0, seed=seed)
    else:
        alpha = tf.reshape(_as_float32(alpha), alpha_shape)
    x_hat = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        inputs = x_hat if labels is None else [x_hat, labels]
        # Each score depends only on its own sample, so the gradient of the sum
        # gives every sample's input gradient at once.
        total = tf.reduce_sum(_as_float32(critic(inputs, training=training)))
    grads = tape.gradient(total, x_hat)
    axes = tf.range(1, tf.rank(grads))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + epsilon)
    return tf.reduce_mean(tf.square(norms - 1.0))


def _input_gradient_sq_norms(critic, images, labels):
    """Per-sample ``||grad_x critic(x)||^2`` (float32, shape (batch,))."""
    images = _as_float32(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        inputs = images if labels is None else [images, labels]
        # Each score depends on its own sample only, so the gradient of the
        # sum holds every sample's input gradient.
        total = tf.reduce_sum(_as_float32(critic(inputs)))
    grads = tape.gradient(total, images)
    return tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads)))


def r1_penalty(critic, real, *, labels=None):
    """R1 (Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do
    actually Converge?", arXiv:1801.04406, eq. 9): ``E_x[||grad_x D(x)||^2]`` on real data.

    The gradient is of the raw logit with respect to the images (no
    interpolation and no "- 1", unlike WGAN-GP). The paper adds
    ``gamma / 2 * R1`` to the discriminator loss; the GAN engine does that with
    ``gamma = r1_weight``. Computed in float32 whatever the critic's dtype.

    Args:
        critic: callable mapping images (or ``[images, labels]``) of shape
            (batch, H, W, C) to logits (batch, 1); each logit must depend on its
            own sample only (no BatchNorm in training mode).
        real: float Tensor (batch, H, W, C) of real images.
        labels: optional int Tensor (batch,) for a conditional critic.

    Returns:
        float32 scalar, the batch mean of the squared gradient norms.
    """
    return tf.reduce_mean(_input_gradient_sq_norms(critic, real, labels))


def r2_penalty(critic, fake, *, labels=None):
    """R2 (Mescheder et al. 2018, arXiv:1801.04406): `r1_penalty` on generated images.

    ``E_z[||grad_x D(x)|_{x = G(z)}||^2]``; the images are treated as
    constants (no gradient reaches the generator). Arguments and return value
    as `r1_penalty`.
    """
    return tf.reduce_mean(_input_gradient_sq_norms(critic, tf.stop_gradient(fake), labels))


def lecam_penalty(real_logits, fake_logits, anchor_real, anchor_fake):
    """LeCam regularization (Tseng, Jiang, Liu, Yang & Yang 2021, "Regularizing
    Generative Adversarial Networks under Limited Data", arXiv:2104.03310, eq. 3).

    ``R_LC = E[relu(D(x) - a_fake)^2] + E[relu(a_real - D(G(z)))^2]``, where the
    anchors ``a_real`` and ``a_fake`` are moving averages of the
    discriminator's mean output on real and generated images (the engine keeps
    them, decay 0.99). Only outputs that cross the other side's anchor are
    penalized.

    Args:
        real_logits: Tensor (batch, 1) or (batch,).
        fake_logits: Tensor (batch', 1) or (batch',).
        anchor_real: float scalar.
        anchor_fake: float scalar.

    Returns:
        float32 scalar (unweighted).
    """
    real = _as_float32(real_logits)
    fake = _as_float32(fake_logits)
    return _mean(tf.square(tf.nn.relu(real - _as_float32(anchor_fake)))) + _mean(
        tf.square(tf.nn.relu(_as_float32(anchor_real) - fake))
    )
