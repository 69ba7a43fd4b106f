"""DCGAN: Radford, Metz & Chintala 2015, "Unsupervised Representation Learning
with Deep Convolutional Generative Adversarial Networks" (arXiv:1511.06434)."""

import keras

from ganzoo.models.gan import GAN


@keras.saving.register_keras_serializable(package="ganzoo")
class DCGAN(GAN):
    """The DCGAN algorithm: non-saturating loss, one D step per G step.

    Paper settings (Section 4): Adam with learning rate 2e-4 and beta_1 0.5,
    batch size 128, z of dimension 100. The architecture (strided convolutions,
    BatchNorm, ReLU/LeakyReLU(0.2), N(0, 0.02) init) lives in
    `ganzoo.networks.DCGANGenerator` / `DCGANDiscriminator`.

    Args: see `ganzoo.GAN`.
    """

    default_loss = "non_saturating"
    default_d_steps = 1
    default_optimizer_settings = {
        "d": {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999},
        "g": {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999},
    }
