"""Same seeds, same weights: every zoo entry and training option trains to the fingerprints
recorded from the engine before its redesign (`tests/engine_reference.py`).

The default run checks one case per kind of engine path (a plain loss, lazy R1/R2 with EMA,
ADA + LeCam on a conditional model, WGAN-GP's penalty); the slow run checks them all.
"""

import pathlib

import numpy as np
import pytest

import engine_reference

REFERENCE = pathlib.Path(__file__).parent / "data" / "engine_reference.npz"
RECORDED = engine_reference.load(REFERENCE)
FAST = {"entry_dcgan_mnist", "conditional_lecam_ada", "wgan_gp_weight"}


def _params():
    for case in sorted(RECORDED):
        marks = () if case in FAST else (pytest.mark.slow,)
        yield pytest.param(case, marks=marks, id=case)


def test_every_case_and_every_entry_was_recorded():
    assert set(RECORDED) == set(engine_reference.cases())


def _by_name(fingerprint):
    """`fingerprint` with each variable keyed by its name and its rank among the variables of
    that name (``"var:kernel#3"``) instead of its position among all variables: a component
    that becomes a layer of its own (the LeCam anchors in their regularizer) moves in the
    tracking order, while variables of one name keep their order (generator, discriminator,
    EMA generator)."""
    seen, out = {}, {}
    for key in sorted(fingerprint):
        if key.startswith("var:"):
            name = key.split(":", 2)[2]
            out[f"var:{name}#{seen.get(name, 0)}"] = fingerprint[key]
            seen[name] = seen.get(name, 0) + 1
        else:
            out[key] = fingerprint[key]
    return out


@pytest.mark.parametrize("case", _params())
def test_seeded_training_reproduces_the_recorded_fingerprint(case):
    entry, overrides = engine_reference.cases()[case]
    got = _by_name(engine_reference.run_case(entry, overrides))
    want = _by_name(RECORDED[case])
    assert sorted(got) == sorted(want), sorted(set(got) ^ set(want))
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=2e-5, atol=2e-6, err_msg=f"{case}: {key}")


def test_a_keras_file_of_the_engine_before_its_redesign_loads_generates_and_resumes():
    """`sngan_projection_twemoji_tiny_v0.keras`: a tiny conditional SN-GAN with ADA, LeCam, lazy
    R1/R2 and a warmed-up EMA after 3 steps, saved (with optimizer state) by the engine at
    be5b7be; the .npy holds its ``generate(6, seed=2)``."""
    import keras

    import ganzoo  # noqa: F401  (registers the classes the file names)
    from conftest import as_dataset, real_batch

    data = pathlib.Path(__file__).parent / "data"
    gan = keras.models.load_model(data / "sngan_projection_twemoji_tiny_v0.keras")
    np.testing.assert_allclose(np.asarray(gan.generate(6, seed=2)),
                               np.load(data / "sngan_projection_twemoji_tiny_v0_generate.npy"),
                               rtol=1e-5, atol=1e-6)
    assert int(gan.g_optimizer.iterations) == 3
    gan.fit(as_dataset(real_batch(gan, per_step=4, seed=1), 1), epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 4


@pytest.mark.parametrize("stem", ["sngan_projection_twemoji_tiny_v0", "wgan_gp_noise_tiny_v0"])
def test_one_more_step_from_a_file_of_the_engine_before_its_redesign_matches_that_engine(stem):
    """``<stem>_resumed.npz`` holds every variable (keyed by name and rank among that name)
    and ``generate(6, seed=2)`` after one more `fit` step of the old engine from the file."""
    import collections

    import keras

    import ganzoo  # noqa: F401
    from conftest import as_dataset, real_batch

    data = pathlib.Path(__file__).parent / "data"
    gan = keras.models.load_model(data / f"{stem}.keras")
    gan.fit(as_dataset(real_batch(gan, per_step=4, seed=1), 1), epochs=1, verbose=0)
    want = dict(np.load(data / f"{stem}_resumed.npz"))
    seen, got = collections.Counter(), {}
    for v in gan.variables:
        got[f"{v.name}#{seen[v.name]}"] = np.asarray(v)
        seen[v.name] += 1
    got["generate"] = gan.generate(6, seed=2)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=2e-5, atol=2e-6, err_msg=key)


_PRETRAINED_V0 = pathlib.Path(__file__).parent / "data" / "pretrained_generate_v0.npz"


@pytest.mark.parametrize("name", sorted(np.load(_PRETRAINED_V0).files))
def test_every_shipped_model_generates_what_the_engine_before_its_redesign_generated(name):
    """``pretrained_generate_v0.npz``: ``generate(6, seed=5)`` of each shipped model, by the engine
    at adc38b2 (before the redesign), loaded offline from ``saved_models/``."""
    import ganzoo

    gan = ganzoo.create_model(name, pretrained=True)
    np.testing.assert_allclose(gan.generate(6, seed=5), np.load(_PRETRAINED_V0)[name], rtol=1e-5, atol=1e-6)
