"""GAN training engines: the shared `GAN` and its families."""

from ganzoo.models.dcgan import DCGAN
from ganzoo.models.gan import GAN
from ganzoo.models.sngan import SNGAN
from ganzoo.models.wgan_gp import WGANGP

FAMILIES = {"gan": GAN, "dcgan": DCGAN, "wgan_gp": WGANGP, "sngan": SNGAN}

__all__ = ["GAN", "DCGAN", "WGANGP", "SNGAN", "FAMILIES"]
