"""Generators, discriminators and layers of the ganzoo model zoo.

Networks:
    DCGAN (Radford et al. 2015, arXiv:1511.06434): `DCGANGenerator`,
    `DCGANDiscriminator` (also the WGAN-GP CNN critic).
    SN-GAN standard CNN (Miyato et al. 2018, arXiv:1802.05957):
    `SNGANCNNGenerator`, `SNGANCNNDiscriminator`.
    WGAN-GP / SN-GAN ResNet (arXiv:1704.00028, arXiv:1802.05957):
    `ResNetGenerator`, `ResNetDiscriminator`.

Every network is a `keras.Model` built functionally in `__init__`; every
discriminator accepts `num_classes` (projection discriminator,
arXiv:1802.05637) and `spectral_norm`.
"""

from ganzoo.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from ganzoo.networks.layers import (
    ConditionalBatchNormalization,
    GlobalSumPooling2D,
    SpectralConv2D,
    SpectralDense,
    SpectralEmbedding,
    spectral_norm_layers,
    unnormalized_kernel_layers,
)
from ganzoo.networks.resnet import ResNetDiscriminator, ResNetGenerator
from ganzoo.networks.sngan_cnn import SNGANCNNDiscriminator, SNGANCNNGenerator

GENERATOR_CLASSES = (DCGANGenerator, SNGANCNNGenerator, ResNetGenerator)
DISCRIMINATOR_CLASSES = (
    DCGANDiscriminator,
    SNGANCNNDiscriminator,
    ResNetDiscriminator,
)
_NETWORK_CLASSES = {cls.__name__: cls for cls in GENERATOR_CLASSES + DISCRIMINATOR_CLASSES}


def get_network_class(name):
    """Maps a network class name (e.g. `"DCGANGenerator"`) to the class.

    Args:
        name: Class name, exactly as spelled in this package.

    Returns:
        The `keras.Model` subclass.

    Raises:
        ValueError: If `name` is not a ganzoo network class.
    """
    if not isinstance(name, str) or name not in _NETWORK_CLASSES:
        raise ValueError(
            f"Unknown network class {name!r}. Expected one of: "
            f"{', '.join(sorted(_NETWORK_CLASSES))}. Received: name={name!r}"
        )
    return _NETWORK_CLASSES[name]


__all__ = [
    "ConditionalBatchNormalization",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "DISCRIMINATOR_CLASSES",
    "GENERATOR_CLASSES",
    "GlobalSumPooling2D",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "SNGANCNNDiscriminator",
    "SNGANCNNGenerator",
    "SpectralConv2D",
    "SpectralDense",
    "SpectralEmbedding",
    "get_network_class",
    "spectral_norm_layers",
    "unnormalized_kernel_layers",
]
