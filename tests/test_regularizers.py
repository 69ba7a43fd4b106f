"""`ganzoo.regularizers`: the interface every discriminator-loss term goes through, its
built-in terms against closed forms, a regularizer written outside ganzoo, and the training
options each part declares once (`ganzoo.options`)."""

import numpy as np
import pytest
import tensorflow as tf
import keras

import ganzoo
from ganzoo import regularizers
from conftest import as_dataset, real_batch, tiny_model

# A discriminator-free "critic" D(x) = sum(w * x): its input gradient is w for every image.
_W = np.linspace(-0.3, 0.5, 2 * 2 * 1).reshape(1, 2, 2, 1).astype("float32")


def _linear(images, labels=None):
    return tf.reduce_sum(tf.cast(images, "float32") * _W, axis=[1, 2, 3])[:, None]


def _step(real, fake, real_logits=None, fake_logits=None, training=True, alpha=0.25):
    def draw(sampler):
        return tf.fill([tf.shape(real)[0]], alpha)

    return regularizers.Step(
        real=tf.constant(real), fake=tf.constant(fake), labels=None, fake_labels=None,
        real_logits=_linear(real) if real_logits is None else tf.constant(real_logits),
        fake_logits=_linear(fake) if fake_logits is None else tf.constant(fake_logits),
        critic=_linear, fake_critic=_linear, training=training, draw=draw)


def _images(seed, n=3):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 2, 2, 1)).astype("float32")


def test_r1_and_r2_of_a_linear_critic_are_the_squared_norm_of_its_weights():
    step = _step(_images(0), _images(1))
    want = float(np.sum(_W ** 2))
    assert float(regularizers.R1(gamma=4.0).penalty(step)) == pytest.approx(want, rel=1e-6)
    assert float(regularizers.R2(gamma=4.0).penalty(step)) == pytest.approx(want, rel=1e-6)
    assert regularizers.R1(gamma=4.0).weight == 2.0  # gamma / 2 (Mescheder et al. 2018, eq. 9)


def test_gradient_penalty_of_a_linear_critic_is_its_norm_minus_one_squared():
    step = _step(_images(0), _images(1))
    want = (np.sqrt(np.sum(_W ** 2) + 1e-12) - 1.0) ** 2
    assert float(regularizers.GradientPenalty().penalty(step)) == pytest.approx(want, rel=1e-5)


def test_lecam_first_update_sets_the_anchors_to_the_means_then_decays():
    lecam = regularizers.LeCam(weight=1.0, decay=0.9)
    real_logits = np.array([[1.0], [3.0]], "float32")  # mean 2
    fake_logits = np.array([[-1.0], [2.5]], "float32")  # mean 0.75
    step = _step(_images(0, 2), _images(1, 2), real_logits, fake_logits)
    got = float(lecam.penalty(step))
    # anchors (2, 0.75): E[relu(D(x) - 0.75)^2] + E[relu(2 - D(G(z)))^2]
    want = np.mean(np.maximum(real_logits - 0.75, 0) ** 2) + np.mean(np.maximum(2.0 - fake_logits, 0) ** 2)
    assert got == pytest.approx(want, rel=1e-6)
    np.testing.assert_allclose(np.array(lecam.anchors), [2.0, 0.75, 1.0])
    lecam.penalty(_step(_images(0, 2), _images(1, 2), real_logits + 1.0, fake_logits))
    np.testing.assert_allclose(np.array(lecam.anchors), [0.9 * 2 + 0.1 * 3, 0.75, 2.0], rtol=1e-6)
    lecam.penalty(_step(_images(0, 2), _images(1, 2), real_logits + 5.0, fake_logits, training=False))
    np.testing.assert_allclose(np.array(lecam.anchors), [2.1, 0.75, 2.0], rtol=1e-6)  # validation moves nothing


@keras.saving.register_keras_serializable(package="ganzoo_tests")
class Constant(regularizers.Regularizer):
    """A user's regularizer, written outside ganzoo: a constant penalty (no gradient), so a
    model trained with it follows exactly the model without it, and its d_loss differs by
    weight * interval * value on the due steps."""

    def __init__(self, value=2.0, **kwargs):
        super().__init__(**kwargs)
        self.value = value

    def penalty(self, step):
        return tf.constant(self.value, "float32")

    def get_config(self):
        return {**super().get_config(), "value": self.value}


@pytest.mark.parametrize("interval", [1, 2])
def test_a_user_regularizer_trains_logs_and_adds_weight_times_penalty(interval, tmp_path):
    overrides = dict(r1_weight=0.0, r2_weight=0.0, penalty_interval=1, d_steps=2)
    plain = tiny_model("dcgan_mnist", run_eagerly=True, **overrides)
    user = tiny_model("dcgan_mnist", run_eagerly=True,
                      regularizers=[Constant(2.0, weight=0.5, interval=interval, name="const")], **overrides)
    batch = real_batch(plain, per_step=4, seed=1)  # 2 D steps; due at D iterations 0 (and 1 if k=1)
    a = plain.fit(as_dataset(batch, 1), epochs=1, verbose=0).history
    b = user.fit(as_dataset(batch, 1), epochs=1, verbose=0).history
    assert b["const"][0] == pytest.approx(2.0)  # unweighted, averaged over the due steps
    # the D-step mean of weight * interval * 2 on due steps: 1.0 either way
    assert b["d_loss"][0] - a["d_loss"][0] == pytest.approx(1.0, abs=1e-5)
    for x, y in zip(plain.discriminator.get_weights(), user.discriminator.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    user.save(tmp_path / "user.keras")
    again = keras.models.load_model(tmp_path / "user.keras")
    reg = again.regularizer("const")
    assert isinstance(reg, Constant) and (reg.weight, reg.interval, reg.value) == (0.5, interval, 2.0)
    assert again.metric_names[-1] == "const"


def test_regularizer_names_must_be_unique_and_not_taken():
    with pytest.raises(ValueError, match=r"logged under its name.*Received: regularizers named \['r1', 'r1'\]"):
        tiny_model("dcgan_mnist", r1_weight=1.0, r2_weight=0.0, regularizers=[Constant(name="r1")])
    with pytest.raises(ValueError, match=r"Received: regularizers named \[.*'d_loss'\]"):
        tiny_model("dcgan_mnist", regularizers=[Constant(name="d_loss")])
    with pytest.raises(ValueError, match=r"Regularizer instances.*Received: 'r1'"):
        tiny_model("dcgan_mnist", regularizers=["r1"])


def test_the_wgan_gp_family_penalty_is_a_regularizer_logged_as_gp():
    gan = tiny_model("wgan_gp_mnist", gp_weight=5.0)
    gp = gan.regularizer("gp")
    assert isinstance(gp, regularizers.GradientPenalty) and gp.weight == 5.0
    assert gan.metric_names == ("d_loss", "g_loss", "d_real", "d_fake", "gp")


# --- options, declared once ---------------------------------------------------


def test_every_declared_option_is_a_recipe_field_a_create_model_keyword_and_a_config_key():
    from ganzoo import registry

    assert set(ganzoo.models.OPTIONS) <= set(registry._FIELDS)
    names = [o.name for o in ganzoo.WGANGP.options()]
    assert len(names) == len(set(names)) and "gp_weight" in names
    assert "gp_weight" not in [o.name for o in ganzoo.SNGAN.options()]
    gan = tiny_model("sngan_mnist", lecam_weight=0.25, instance_noise=0.05, ema_decay=0.5, penalty_interval=2)
    config = gan.get_config()
    for option in ganzoo.SNGAN.options():
        assert option.name in config, option.name
    assert (config["lecam_weight"], config["instance_noise"], config["ema_decay"]) == (0.25, 0.05, 0.5)
    assert (gan.lecam_weight, gan.penalty_interval) == (0.25, 2)


@pytest.mark.parametrize("key, value, message", [
    ("lecam_decay", 1.0, r"lecam_decay must be"),
    ("ema_start", -1, r"ema_start must be"),
    ("instance_noise_steps", 0, r"instance_noise_steps must be"),
    ("penalty_interval", 1.5, r"field 'penalty_interval' must be of type int"),
])
def test_a_recipe_value_is_refused_by_the_check_its_part_declares(key, value, message):
    with pytest.raises(ValueError, match=message + r".*Received: " + key):
        ganzoo.create_model("dcgan_mnist", **{key: value})


@keras.saving.register_keras_serializable(package="ganzoo_tests")
class LogitSquare(regularizers.Regularizer):
    """The README's example: E[D(x)^2] on real images."""

    def penalty(self, step):
        return tf.reduce_mean(tf.square(step.real_logits))


def test_the_readme_regularizer_reads_the_step_logits():
    gan = tiny_model("dcgan_mnist", regularizers=[LogitSquare(weight=0.01, name="logit_sq")])
    logs = gan.fit(as_dataset(real_batch(gan, per_step=4, seed=1), 1), epochs=1, verbose=0).history
    # one D step: logit_sq = mean(l^2) >= mean(l)^2 = d_real^2 (Jensen), with l the logged real logits
    assert logs["logit_sq"][0] >= logs["d_real"][0] ** 2 - 1e-6 and logs["logit_sq"][0] > 0


def test_the_options_table_has_one_row_per_declared_option_with_its_doc():
    from ganzoo import registry

    lines = registry.options_table().splitlines()
    assert lines[0] == lines[2] == lines[-1] and set(lines[0]) == {"=", " "}  # reStructuredText rules
    assert lines[1].split()[:2] == ["option", "in"]
    rows = {r.split()[0]: r for r in lines[3:-1]}
    assert list(rows) == list(ganzoo.models.OPTIONS)
    assert rows["loss"].split()[1:3] == ["required", "None"]
    assert rows["lecam_decay"].split()[1:3] == ["optional", "0.99"]
    assert ganzoo.models.OPTIONS["lecam_decay"].doc in rows["lecam_decay"]


@pytest.mark.parametrize("every_step", [False, True])
def test_lazy_penalty_is_computed_every_kth_step_and_scaled_by_k(every_step):
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
    seen = []
    for step in range(6):
        value, due = regularizers.lazy(lambda: tf.constant(2.0), 3, tf.constant(step, "int64"),
                                       discriminator, every_step=every_step)
        seen.append((float(value), float(due)))
    assert seen == [(6.0, 1.0), (0.0, 0.0), (0.0, 0.0), (6.0, 1.0), (0.0, 0.0), (0.0, 0.0)]
    assert regularizers.lazy(lambda: tf.constant(2.0), 1, tf.constant(1, "int64"), discriminator)[0] == 2.0


def test_lazy_every_step_puts_back_the_state_a_discarded_computation_moved():
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
    moving_mean = discriminator.layers[0].moving_mean

    def compute():
        moving_mean.assign_add(tf.ones(2))
        return tf.constant(1.0)

    regularizers.lazy(compute, 2, tf.constant(1, "int64"), discriminator, every_step=True)  # not due
    np.testing.assert_array_equal(np.array(moving_mean), [0.0, 0.0])
    regularizers.lazy(compute, 2, tf.constant(2, "int64"), discriminator, every_step=True)  # due
    np.testing.assert_array_equal(np.array(moving_mean), [1.0, 1.0])


def test_family_and_loss_fields_are_refused_by_their_declarations():
    with pytest.raises(ValueError, match=r"field 'gp_weight' only applies to family 'wgan_gp'.*Received: family='dcgan'"):
        ganzoo.create_model("dcgan_mnist", gp_weight=3.0)
    with pytest.raises(ValueError, match=r"field 'loss'.*Did you mean 'hinge'\?.*Received: loss='hinj'"):
        ganzoo.create_model("dcgan_mnist", loss="hinj")


class _NoPenalty(regularizers.Regularizer):
    pass


class _Unregistered(regularizers.Regularizer):
    def penalty(self, step):
        return tf.constant(0.0)


class _Returns(regularizers.Regularizer):
    def __init__(self, make, **kwargs):
        super().__init__(**kwargs)
        self.make = make

    def penalty(self, step):
        return self.make(step)


@pytest.mark.parametrize("bad, match", [
    ("r1", r"must be a list of ganzoo.regularizers.Regularizer instances\. Received: regularizers='r1'$"),
    (LogitSquare(), r"must be a list.*Received: regularizers=<LogitSquare"),
    ([None], r"Regularizer instances \(or their serialized configs\)\. Received: None$"),
    ([_NoPenalty()], r"must implement penalty\(step\)\. Received: _NoPenalty$"),
    ([Constant(name="")], r"non-empty.*Received: regularizers named \[''\]$"),
    ([Constant(name="epoch")], r"Received: regularizers named \['epoch'\]$"),
    ([Constant(name="val_x")], r"not starting with 'val_'\. Received: regularizers named \['val_x'\]$"),
])
def test_bad_regularizers_are_refused_before_any_recipe_is_read(bad, match):
    with pytest.raises(ValueError, match=match) as info:
        ganzoo.create_model("dcgan_mnist", regularizers=bad)
    assert "zoo_configs" not in str(info.value)  # a Python argument's mistake, not the recipe's


@pytest.mark.parametrize("make, received", [
    (lambda step: tf.reduce_sum(tf.square(step.real_logits), axis=1), r"a float32 tensor of shape \(4,\)"),
    (lambda step: tf.constant(1.0, "float64"), r"a float64 tensor of shape \(\)"),
    (lambda step: None, r"None"),
])
def test_a_penalty_that_is_not_a_float32_scalar_is_refused_naming_the_regularizer(make, received):
    gan = tiny_model("dcgan_mnist", run_eagerly=True, regularizers=[_Returns(make, name="mine")])
    with pytest.raises(ValueError, match=r"_Returns 'mine': penalty\(step\) must return a float32 scalar.*"
                                         r"Received: " + received):
        gan.fit(as_dataset(real_batch(gan, per_step=4, seed=1), 1), epochs=1, verbose=0)


def test_a_python_float_penalty_counts_as_a_float32_scalar():
    gan = tiny_model("dcgan_mnist", run_eagerly=True, regularizers=[_Returns(lambda step: 0.5, name="half")])
    logs = gan.fit(as_dataset(real_batch(gan, per_step=4, seed=1), 1), epochs=1, verbose=0).history
    assert logs["half"][0] == pytest.approx(0.5)


def test_constructor_mistakes_name_the_argument():
    with pytest.raises(ValueError, match=r"R1 takes gamma, its weight being gamma / 2.*Received: weight=5$"):
        regularizers.R1(weight=5)
    with pytest.raises(ValueError, match=r"^decay must be .*Received: decay=1.5$"):
        regularizers.LeCam(decay=1.5)
    with pytest.raises(ValueError, match=r"^interval must be .*Received: interval=0$"):
        regularizers.R2(interval=0)
    r1 = regularizers.R1(gamma=3.0, interval=4)
    again = regularizers.R1.from_config(r1.get_config())
    assert (again.gamma, again.weight, again.interval, again.name) == (3.0, 1.5, 4, "r1")


def test_saving_a_gan_with_an_unregistered_regularizer_is_refused_and_writes_nothing(tmp_path):
    gan = tiny_model("dcgan_mnist", regularizers=[_Unregistered(name="unreg")])
    with pytest.raises(ValueError, match=r"register its class with @keras.saving.register_keras_serializable.*"
                                         r"Received: an unregistered _Unregistered$"):
        gan.save(tmp_path / "gan.keras")
    assert not (tmp_path / "gan.keras").exists()


def test_the_readme_lists_the_options_table_as_generated():
    import pathlib

    from ganzoo import registry

    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    assert registry.options_table() in readme
