"""The training options of a GAN: which part declares each, and the parts they build.

Each option is declared once (`ganzoo.options.Option`) by the part that
implements it: the game's own here (`GAME_OPTIONS`), the EMA generator's in
`ganzoo.models.ema`, the input transforms' in `ganzoo.augment`, the built-in
regularizers' in `ganzoo.regularizers`, and a family's on its class
(``family_options``, e.g. WGAN-GP's ``gp_weight``).
"""

from ganzoo import augment as augment_lib
from ganzoo import losses
from ganzoo import regularizers as regularizers_lib
from ganzoo.models import ema
from ganzoo.options import Option
from ganzoo.validation import check_number


def _check_sync_batchnorm(value):
    if not isinstance(value, bool):
        raise ValueError("sync_batchnorm must be True, False or None (synchronized when there is more "
                         f"than one replica). Received: sync_batchnorm={value!r}")
    return value


#: The options of the game itself (None: the family's default).
GAME_OPTIONS = (
    Option("loss", "a name from `ganzoo.losses.available_losses()`", None, (str,),
           lambda v: losses.get_loss(v).name),
    Option("d_steps", "discriminator steps per generator step", None, (int,),
           lambda v: check_number("d_steps", v, 1, integer=True)),
    Option("g_batch_size", "latent samples per generator step", None, (int,),
           lambda v: check_number("g_batch_size", v, 1, integer=True)),
    Option("sync_batchnorm", "false: per-replica BatchNorm statistics (default: over all replicas)",
           None, (bool,), _check_sync_batchnorm),
)



def declared(family_options=()):
    """Every option of a GAN family, in order: the game's, the EMA's, the input transforms',
    the regularizers', then `family_options`."""
    return (GAME_OPTIONS + ema.OPTIONS + augment_lib.OPTIONS + regularizers_lib.OPTIONS
            + tuple(family_options))


def parts(options):
    """The parts the checked option values build.

    Args:
        options: ``{name: checked value}`` of every option of `declared`.

    Returns:
        ``(GeneratorEMA or None, augmentation layer or None, InstanceNoise or None,
        list of the built-in regularizers)``.
    """
    def of(declared_by):
        return {o.name: options[o.name] for o in declared_by}

    augment, noise = augment_lib.from_options(**of(augment_lib.OPTIONS))
    return (ema.GeneratorEMA.from_options(**of(ema.OPTIONS)), augment, noise,
            regularizers_lib.from_options(**of(regularizers_lib.OPTIONS)))
