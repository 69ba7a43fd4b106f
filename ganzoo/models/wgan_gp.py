"""WGAN-GP: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs"
(arXiv:1704.00028)."""

import keras

from ganzoo import regularizers
from ganzoo.models.gan import GAN
from ganzoo.options import Option
from ganzoo.validation import check_number


@keras.saving.register_keras_serializable(package="ganzoo")
class WGANGP(GAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1).

    The critic minimises ``E[D(fake)] - E[D(real)] + lambda * GP`` with the
    two-sided penalty of `ganzoo.losses.gradient_penalty` (alpha ~ U(0, 1) per
    sample), ``n_critic = 5`` critic steps per generator step, each on its own
    real batch. Paper defaults: lambda = 10, Adam(lr 1e-4, beta_1 0.5,
    beta_2 0.9). The critic must not use batch normalization (Section 4 of the
    paper: each score must depend on its own sample only, or the per-sample
    penalty is wrong); `ganzoo.networks` critics use no normalization or
    LayerNorm, and a critic with any BatchNormalization layer is refused.

    Args:
        gp_weight: lambda, the penalty weight (default 10).
        **kwargs: see `ganzoo.GAN`.
    """

    default_loss = "wasserstein"
    default_d_steps = 5
    default_optimizer_settings = {
        "d": {"name": "adam", "learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9},
        "g": {"name": "adam", "learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9},
    }

    #: lambda, the penalty weight (the paper's 10).
    family_options = (
        Option("gp_weight", "gradient-penalty weight (``wgan_gp`` only)", 10.0, (int, float),
               lambda v: check_number("gp_weight", v, 0.0)),
    )

    def __init__(self, generator, discriminator, **kwargs):
        coupled = [layer.name for layer in discriminator._flatten_layers(include_self=False)
                   if isinstance(layer, keras.layers.BatchNormalization)]
        if coupled:
            raise ValueError(
                "WGAN-GP's gradient penalty is per sample, so the critic must not use batch "
                "normalization (Gulrajani et al. 2017, Section 4): each score would depend on the "
                "other samples of the batch. Use layer normalization or none (for ganzoo critics: "
                "normalization='layer' or 'none'). Received: a critic with BatchNormalization "
                f"layers {coupled}"
            )
        super().__init__(generator, discriminator, **kwargs)

    #: Conditional WGAN-GP: the critic step's fakes take the real batch's
    #: labels, so the penalty interpolates images of one class under that class
    #: (as the authors' conditional code does).
    fake_labels_from_real = True

    def family_regularizers(self, options):
        """`ganzoo.regularizers.GradientPenalty` of weight ``gp_weight``, logged as ``gp``."""
        return [regularizers.GradientPenalty(weight=options["gp_weight"])]
