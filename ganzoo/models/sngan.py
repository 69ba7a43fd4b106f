"""SN-GAN: Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks" (arXiv:1802.05957)."""

import keras

from ganzoo.models.gan import GAN
from ganzoo.networks.layers import unnormalized_kernel_layers


@keras.saving.register_keras_serializable(package="ganzoo")
class SNGAN(GAN):
    """GAN whose discriminator is spectrally normalized in every layer.

    Paper defaults (ResNet, CIFAR-10): hinge loss, ``n_dis = 5`` discriminator
    steps per generator step, Adam(lr 2e-4, beta_1 0, beta_2 0.9). The standard
    CNN recipes of the paper's Table 1 use other settings; the zoo recipes say
    which. The constructor refuses a discriminator with any kernel that is not
    spectrally normalized (`ganzoo.networks.SpectralConv2D` and friends), since
    a silently unnormalized layer is the classic SN-GAN bug.

    Args: see `ganzoo.GAN`.
    """

    default_loss = "hinge"
    default_d_steps = 5
    default_optimizer_settings = {
        "d": {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.9},
        "g": {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.9},
    }

    def __init__(self, generator, discriminator, **kwargs):
        plain = unnormalized_kernel_layers(discriminator)
        if plain:
            names = ", ".join(layer.name for layer in plain)
            raise ValueError(
                "SN-GAN needs spectral normalization on every discriminator layer with a "
                "kernel (build it with spectral_norm=True). "
                f"Received: a discriminator with unnormalized layers: {names}"
            )
        super().__init__(generator, discriminator, **kwargs)
