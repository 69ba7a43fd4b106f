"""The zoo registry: listing, lookup errors, recipe validation."""

import pathlib
import re

import pytest

import ganzoo
from ganzoo import paths, registry

REQUIRED = {
    "dcgan_mnist", "dcgan_cifar10", "dcgan_celeba64", "wgan_gp_mnist",
    "wgan_gp_cifar10_resnet", "sngan_mnist", "sngan_cifar10", "sngan_cifar10_resnet",
}


def test_list_models_holds_every_recipe_file_sorted():
    names = ganzoo.list_models()
    assert REQUIRED <= set(names)
    assert names == sorted(p.stem for p in paths.ZOO_DIR.glob("*.toml"))


def test_list_models_wildcard():
    assert ganzoo.list_models("sngan*") == sorted(n for n in ganzoo.list_models() if n.startswith("sngan"))
    assert set(ganzoo.list_models("*_mnist")) >= {"dcgan_mnist", "wgan_gp_mnist", "sngan_mnist"}
    assert ganzoo.list_models("nothing*") == []


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_recipe_cites_a_paper_and_matches_its_family(name):
    recipe = ganzoo.get_recipe(name)
    assert "arXiv:" in recipe.paper
    family_defaults = {"dcgan": ("non_saturating",), "wgan_gp": ("wasserstein",), "sngan": ("hinge", "non_saturating")}
    # Another loss only as a stated deviation from the paper (the README's zoo table shows it).
    assert recipe.loss in family_defaults[recipe.family] or recipe.loss in (recipe.deviations or ""), (
        recipe.loss, recipe.deviations)


def test_family_classes_follow_the_recipe():
    gan = ganzoo.create_model("wgan_gp_mnist", compile=False, latent_dim=8,
                              generator={"base_filters": 4}, discriminator={"base_filters": 4})
    assert isinstance(gan, ganzoo.WGANGP)
    assert gan.gp_weight == 10.0 and gan.d_steps == 5 and gan.loss_name == "wasserstein"


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match=r"Did you mean 'dcgan_mnist'.*Received: name='dcgan_mnsit'"):
        ganzoo.create_model("dcgan_mnsit")


def test_unknown_override_is_refused():
    with pytest.raises(ValueError, match=r"Did you mean 'latent_dim'.*Received: latent_dims=3"):
        ganzoo.create_model("dcgan_mnist", latent_dims=3)


def test_bad_override_value_names_the_field():
    with pytest.raises(registry.RecipeError, match=r"'d_steps': d_steps must be an integer in \[1, inf\).*Received: d_steps=0"):
        ganzoo.create_model("dcgan_mnist", d_steps=0)


def _write_recipe(tmp_path, text):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    return path


def _good_text():
    return (paths.ZOO_DIR / "dcgan_mnist.toml").read_text()


def test_malformed_recipe_names_file_and_missing_field(tmp_path):
    text = "\n".join(l for l in _good_text().splitlines() if not l.startswith("latent_dim"))
    path = _write_recipe(tmp_path, text)
    with pytest.raises(registry.RecipeError, match=r"broken\.toml: missing required field 'latent_dim'"):
        registry.load_recipe(path)


def test_malformed_recipe_names_file_and_wrong_type(tmp_path):
    text = re.sub(r"^batch_size = \d+", 'batch_size = "big"', _good_text(), flags=re.M)
    path = _write_recipe(tmp_path, text)
    with pytest.raises(registry.RecipeError, match=r"broken\.toml: field 'batch_size' must be of type int.*Received: batch_size='big'"):
        registry.load_recipe(path)


def test_malformed_recipe_names_unknown_network_class(tmp_path):
    path = _write_recipe(tmp_path, _good_text().replace('class = "DCGANGenerator"', 'class = "DCGANGenerater"'))
    with pytest.raises(registry.RecipeError, match=r"broken\.toml: field 'generator.class'.*DCGANGenerater"):
        registry.load_recipe(path)


def test_malformed_recipe_names_unknown_field(tmp_path):
    path = _write_recipe(tmp_path, "lr = 1\n" + _good_text())
    with pytest.raises(registry.RecipeError, match=r"broken\.toml: unknown field 'lr'"):
        registry.load_recipe(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = _write_recipe(tmp_path, "family = \n")
    with pytest.raises(registry.RecipeError, match=r"broken\.toml: not valid TOML"):
        registry.load_recipe(path)


def test_pretrained_request_without_weights_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "SAVED_MODELS_DIR", pathlib.Path(tmp_path))
    with pytest.raises(ValueError, match=r"No pretrained weights for 'dcgan_cifar10'.*Received: name='dcgan_cifar10', pretrained=True"):
        ganzoo.create_model("dcgan_cifar10", pretrained=True)


def test_a_recipe_with_a_hand_written_epoch_count_is_refused(tmp_path):
    # The run length is train_steps; an epoch count could disagree with it (e.g. 410
    # CIFAR-10 epochs were 64k generator steps against a 50k-step learning-rate decay).
    path = _write_recipe(tmp_path, "epochs = 410\n" + _good_text())
    with pytest.raises(registry.RecipeError, match=r"broken\.toml: field 'epochs' is gone.*Received: epochs=410"):
        registry.load_recipe(path)


def test_none_removes_an_optional_field_and_is_refused_for_a_required_one():
    recipe = registry.get_recipe("dcgan_mnist").with_overrides(ema_decay=0.99)
    assert "ema_decay" not in recipe.with_overrides(ema_decay=None).fields
    with pytest.raises(registry.RecipeError, match="latent_dim"):
        recipe.with_overrides(latent_dim=None)


# --- unknown keys of the tables (issue 23): refused like unknown top-level fields -----------


@pytest.mark.parametrize("table, key, value, valid", [
    ("generator", "base_filter", 8, "['class', 'base_filters', 'kernel_initializer', 'kernel_size']"),
    ("discriminator", "normalisation", "none", "['class', 'base_filters', 'kernel_initializer', "
     "'kernel_size', 'normalization', 'power_iterations', 'spectral_norm']"),
])
def test_an_unknown_key_of_a_network_table_is_refused_with_the_valid_keys(table, key, value, valid):
    # Before: passed on to keras.Model's **kwargs and dropped, so the full network was built.
    close = {"base_filter": "base_filters", "normalisation": "normalization"}[key]
    with pytest.raises(registry.RecipeError, match=(
            rf"unknown key '{key}' in table '{table}' \(DCGAN\w+\)\. Valid keys: {re.escape(valid)}\. "
            rf"Did you mean '{close}'\? Received: {table}\.{key}={value!r}$")):
        ganzoo.create_model("dcgan_mnist", compile=False, **{table: {key: value}})


def test_the_valid_network_keys_are_the_constructors_arguments():
    import inspect

    from ganzoo import networks

    for cls in networks.GENERATOR_CLASSES + networks.DISCRIMINATOR_CLASSES:
        arguments = set(inspect.signature(cls).parameters) - {"name", "kwargs"}
        assert set(registry.network_keys(cls)) == arguments - {"image_shape", "latent_dim", "num_classes"} | {"class"}
    # A top-level field inside a table is refused, naming the field to set instead.
    with pytest.raises(registry.RecipeError, match=r"'generator\.latent_dim' is set by the top-level field "
                       r"'latent_dim'.*Received: generator\.latent_dim=8"):
        ganzoo.create_model("dcgan_mnist", compile=False, generator={"latent_dim": 8})


@pytest.mark.parametrize("settings, message", [
    ({"beta1": 0.5}, r"Could not build optimizer 'adam' \(unknown key 'beta1' in table 'd_optimizer'\)\. Valid keys: \[.*'beta_1'.*'decay_steps'.*"
                     r"'schedule'.*\]\. Did you mean 'beta_1'\? Received: \{.*'beta1': 0\.5\}$"),
    ({"name": "adamx"}, r"Could not build optimizer 'adamx' \(no Keras optimizer has that name\)\. Expected one of "
                        r"\[.*'adam'.*\].*Received: \{'name': 'adamx'"),
    ({"schedule": "cosine"}, r"Unknown learning-rate schedule\. Expected one of \['constant', 'linear', 'inverse_sqrt'\]\. Received: schedule='cosine'"),
])
def test_an_optimizer_table_is_checked_with_the_recipe_not_at_compile(settings, message):
    # compile=False: before, these were only refused by Keras when the optimizer was built.
    with pytest.raises(registry.RecipeError, match=r"dcgan_mnist\.toml \(with overrides \['d_optimizer'\]\): " + message):
        ganzoo.create_model("dcgan_mnist", compile=False, d_optimizer=settings)
