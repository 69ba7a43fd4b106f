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


AdversarialLoss = collections.namedtuple(
    "AdversarialLoss", ["name", "discriminator", "generator", "reference"]
)

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
