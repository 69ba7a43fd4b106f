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
    a silently unnormalized layer is the classic SN-GAN bug; the message names
    each such layer with its ganzoo replacement, also for networks built
    outside ganzoo (`keras.layers.SpectralNormalization` does not qualify).

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
            raise ValueError(unnormalized_message(plain))
        super().__init__(generator, discriminator, **kwargs)


#: The ganzoo spectral layer that replaces each plain Keras layer.
_REPLACEMENTS = {
    "Conv2D": "ganzoo.networks.SpectralConv2D",
    "Dense": "ganzoo.networks.SpectralDense",
    "Embedding": "ganzoo.networks.SpectralEmbedding",
}


def unnormalized_message(layers):
    """The SN-GAN refusal of a discriminator with `layers` unnormalized, with remedies.

    The remedies apply to any discriminator, built by ganzoo or by the user.
    """
    described = []
    for layer in layers:
        cls = type(layer).__name__
        if isinstance(layer, keras.layers.SpectralNormalization):
            described.append(f"{layer.name} (keras.layers.SpectralNormalization)")
        elif cls in _REPLACEMENTS:
            described.append(f"{layer.name} ({cls}: use {_REPLACEMENTS[cls]})")
        else:
            described.append(f"{layer.name} ({cls}: no spectral version in ganzoo; replace it)")
    return (
        "SN-GAN (Miyato et al. 2018) needs spectral normalization on every discriminator layer "
        "with a kernel: each call uses W / sigma(W), sigma the largest singular value, with "
        "the gradient flowing through sigma. Build those layers from "
        "ganzoo.networks.SpectralConv2D, SpectralDense and SpectralEmbedding (subclasses of "
        "keras.layers.Conv2D, Dense and Embedding taking the same arguments), or use a ganzoo "
        "discriminator built with spectral_norm=True. keras.layers.SpectralNormalization does "
        "not qualify: it overwrites the wrapped kernel with W / sigma (so no gradient flows "
        "through sigma) and normalizes only when called with training=True. "
        f"Received: a discriminator with unnormalized layers: {', '.join(described)}"
    )
