"""GAN training engines: the shared `GAN` and its families."""

from ganzoo.models.dcgan import DCGAN
from ganzoo.models.gan import GAN
from ganzoo.models.sngan import SNGAN
from ganzoo.models.wgan_gp import WGANGP

FAMILIES = {"gan": GAN, "dcgan": DCGAN, "wgan_gp": WGANGP, "sngan": SNGAN}

#: Every training option of every family, ``{name: ganzoo.options.Option}``, each
#: declared once by the part that implements it (`GAN.options()`).
OPTIONS = {o.name: o for cls in FAMILIES.values() for o in cls.options()}

__all__ = ["GAN", "DCGAN", "WGANGP", "SNGAN", "FAMILIES", "OPTIONS"]
