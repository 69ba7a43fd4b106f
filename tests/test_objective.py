"""The discriminator's and the generator's objectives as a whole, term by term (issue 23).

`test_losses` checks each loss and each penalty on its own; here one training step of the engine
is checked against an independent recomputation of the whole objective, with the weights that
combine its terms:

    D:  L_D = loss_D(D(x), D(G(z)))                              (every loss of ganzoo.losses)
              + gamma_1 / 2 * R1 + gamma_2 / 2 * R2              (Mescheder et al. 2018, eq. 9)
              + lambda_LC * R_LC                                 (Tseng et al. 2021, eq. 3)
              + lambda_GP * GP                                   (Gulrajani et al. 2017, Alg. 1)
    G:  L_G = loss_G(D(G(z)))  or  loss_G(D(G(z)), D(x))         (RpGAN: pairs with real images)

With lazy regularization (Karras et al. 2020, StyleGAN2, Section 3.1) R1 and R2 are computed on
every k-th discriminator step (the engine's step counter ``d_optimizer.iterations`` is a multiple
of k) and multiplied by k there; on the other steps their term is 0.

The networks are tiny (4x4x1 images, 3 latent dimensions) and have closed-form derivatives:

    D(x) = <w, x> + <v, x * x> + b        (x flattened; one Dense layer on [x, x^2])
    G(z) = z V + c                        (one Dense layer, reshaped to 4x4x1)

so ``grad_x D(x) = w + 2 v * x``. (A purely linear D would have the same input gradient at every
image: R1 and R2 would be equal and the gradient penalty would not depend on the interpolates, so
a penalty taken at the wrong images would pass.) Every term's value and its gradient with respect
to (w, v, b) and (V, c) are written out below in NumPy (float64) from the formulas above, without
ganzoo.losses or TensorFlow. The engine trains with SGD, so one discriminator step moves the
weights by exactly ``-lr * grad L_D``: the update pins the **optimized** objective, and the
history returned by ``fit`` the **logged** one.

What the engine logs (decided from ``GAN._discriminator_objective`` and ``_regularizers``):
``d_loss`` is the whole L_D that is optimized (every weighted penalty included, lazy terms
multiplied by k on due steps and absent on the others), averaged over the discriminator steps of
a ``fit`` step; ``d_real`` / ``d_fake`` the mean logits; ``gp``, ``r1``, ``r2`` and ``lecam`` the
**unweighted** penalties, ``r1`` and ``r2`` averaged over the due steps only (0 in an epoch
without one: Keras' Mean of no weight); ``g_loss`` the generator's loss.
"""

import numpy as np
import pytest
import tensorflow as tf
import keras

import ganzoo.losses
from ganzoo.models import GAN, WGANGP

SHAPE = (4, 4, 1)
PIXELS = 16
LATENT = 3
PER_STEP = 4  # images per discriminator step
LR = 0.1
PAPER_GP_WEIGHT = 10.0  # Gulrajani et al. 2017, lambda = 10
LECAM_DEFAULT_DECAY = 0.99  # Tseng et al. 2021

# --- the two halves of every loss, per logit --------------------------------------------------
# Each returns the loss and its derivative with respect to each logit (the mean over n logits
# gives every logit 1/n). softplus(t) = log(1 + e^t), d/dt softplus(t) = sigmoid(t).


def _softplus(t):
    return np.logaddexp(0.0, t)


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def _bce_d(r, f):  # -log sigmoid(r) - log(1 - sigmoid(f)); Goodfellow et al. 2014
    n = len(r)
    return _softplus(-r).mean() + _softplus(f).mean(), -_sigmoid(-r) / n, _sigmoid(f) / n


def _wasserstein_d(r, f):  # E[D(fake)] - E[D(real)]; Arjovsky et al. 2017
    n = len(r)
    return f.mean() - r.mean(), np.full(n, -1.0 / n), np.full(n, 1.0 / n)


def _hinge_d(r, f):  # E[relu(1 - D(real))] + E[relu(1 + D(fake))]; Lim & Ye 2017
    n = len(r)
    return (np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean(),
            -(r < 1).astype(float) / n, (f > -1).astype(float) / n)


def _least_squares_d(r, f):  # 1/2 E[(D(real) - 1)^2] + 1/2 E[D(fake)^2]; Mao et al. 2017
    n = len(r)
    return 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(), (r - 1) / n, f / n


def _relativistic_d(r, f):  # E[softplus(D(fake_i) - D(real_i))]; Huang et al. 2024, eq. 2
    n = len(r)
    s = _sigmoid(f - r) / n
    return _softplus(f - r).mean(), -s, s


def _non_saturating_g(f, r):  # -E[log sigmoid(D(fake))]
    return _softplus(-f).mean(), -_sigmoid(-f) / len(f)


def _minimax_g(f, r):  # E[log(1 - sigmoid(D(fake)))]
    return -_softplus(f).mean(), -_sigmoid(f) / len(f)


def _wasserstein_g(f, r):  # -E[D(fake)]: Wasserstein and hinge
    return -f.mean(), np.full(len(f), -1.0 / len(f))


def _least_squares_g(f, r):  # 1/2 E[(D(fake) - 1)^2]
    return 0.5 * ((f - 1) ** 2).mean(), (f - 1) / len(f)


def _relativistic_g(f, r):  # E[softplus(D(real_i) - D(fake_i))]
    return _softplus(r - f).mean(), -_sigmoid(r - f) / len(f)


LOSSES = {
    "non_saturating": (_bce_d, _non_saturating_g),
    "minimax": (_bce_d, _minimax_g),
    "wasserstein": (_wasserstein_d, _wasserstein_g),
    "hinge": (_hinge_d, _wasserstein_g),
    "least_squares": (_least_squares_d, _least_squares_g),
    "relativistic": (_relativistic_d, _relativistic_g),
}


def test_every_loss_of_ganzoo_has_a_reference_here():
    assert sorted(LOSSES) == ganzoo.losses.available_losses()


# --- the networks, their derivatives and the penalties in closed form ---------------------------


def _discriminator():
    x = keras.Input(SHAPE)
    flat = keras.layers.Flatten()(x)
    features = keras.layers.Concatenate()([flat, keras.layers.Multiply()([flat, flat])])
    return keras.Model(x, keras.layers.Dense(1)(features))


def _generator():
    z = keras.Input((LATENT,))
    return keras.Model(z, keras.layers.Reshape(SHAPE)(keras.layers.Dense(PIXELS)(z)))


def _params(gan):
    """The networks' weights as float64: w, v, b of D; V, c of G."""
    kernel, bias = (np.array(t, "float64") for t in gan.discriminator.get_weights())
    V, c = (np.array(t, "float64") for t in gan.generator.get_weights())
    return {"w": kernel[:PIXELS, 0], "v": kernel[PIXELS:, 0], "b": bias[0], "V": V, "c": c}


def _logits(p, x):
    return x @ p["w"] + (x * x) @ p["v"] + p["b"]


def _input_grads(p, x):
    """grad_x D at each row of x: w + 2 v * x."""
    return p["w"] + 2.0 * p["v"] * x


def _through_logits(dlogits, x):
    """d/d(w, v, b) of a term whose derivative with respect to the logits of x is dlogits."""
    return {"w": dlogits @ x, "v": dlogits @ (x * x), "b": dlogits.sum()}


def _squared_gradient_norm(p, x):
    """R1 (x real) or R2 (x generated): E||grad_x D(x)||^2, and its gradient."""
    g = _input_grads(p, x)
    return (g ** 2).sum(1).mean(), {"w": 2 * g.mean(0), "v": 4 * (g * x).mean(0), "b": 0.0}


def _gradient_penalty(p, x_hat):
    """E[(||grad_x D(x_hat)||_2 - 1)^2] and its gradient."""
    g = _input_grads(p, x_hat)
    norm = np.sqrt((g ** 2).sum(1))
    coef = 2 * (norm - 1) / norm / len(norm)
    return ((norm - 1) ** 2).mean(), {"w": coef @ g, "v": coef @ (2 * g * x_hat), "b": 0.0}


def _lecam(r, f, anchor_real, anchor_fake):
    """E[relu(D(x) - a_fake)^2] + E[relu(a_real - D(G(z)))^2], and its derivatives by logit."""
    over, under = np.maximum(0, r - anchor_fake), np.maximum(0, anchor_real - f)
    return (over ** 2).mean() + (under ** 2).mean(), 2 * over / len(r), -2 * under / len(f)


def _add(total, term, weight=1.0):
    for k, g in term.items():
        total[k] = total.get(k, 0.0) + weight * g
    return total


# --- one training step, recomputed ----------------------------------------------------------------


def _reference_step(p, case, real_parts, draws, state):
    """One ``train_step`` (the D steps, then the G step) with SGD(LR), from the formulas above.

    Args:
        p: float64 parameters (updated in place).
        case: the options the model was built with.
        real_parts: the real batch of each D step, (PER_STEP, PIXELS) each.
        draws: the model's random numbers in the order it draws them.
        state: ``{"iterations": D steps so far, "anchors": [a_real, a_fake] or None}``,
            updated in place.

    Returns:
        ``(expected logs, per D step the norm of each weighted term's gradient)``.
    """
    d_half, g_half = LOSSES[case.get("loss", "wasserstein" if case.get("family") == "wgan_gp"
                                     else "non_saturating")]
    k = case.get("penalty_interval", 1)
    logs = {"d_loss": [], "d_real": [], "d_fake": []}
    due_weighted = {"r1": [], "r2": []}
    contributions = []
    for real in real_parts:
        z = next(draws)
        fake = z @ p["V"] + p["c"]  # constants of the D step
        r, f = _logits(p, real), _logits(p, fake)
        total, dr, df = d_half(r, f)
        grads = _add(_through_logits(dr, real), _through_logits(df, fake))
        terms = {"loss": dict(grads)}
        if case.get("family") == "wgan_gp":
            alpha = next(draws)[:, None]
            gp, gp_grads = _gradient_penalty(p, alpha * real + (1 - alpha) * fake)
            lam = case.get("gp_weight", PAPER_GP_WEIGHT)
            total += lam * gp
            terms["gp"] = _add({}, gp_grads, lam)
            logs.setdefault("gp", []).append(gp)
        due = state["iterations"] % k == 0
        for name, images in (("r1", real), ("r2", fake)):
            gamma = case.get(f"{name}_weight", 0.0)
            if gamma:
                value, value_grads = _squared_gradient_norm(p, images)
                factor = gamma / 2 * k * due  # lazy: k times on due steps, 0 on the others
                total += factor * value
                terms[name] = _add({}, value_grads, factor)
                due_weighted[name].append((value, due))
        if case.get("lecam_weight"):
            means = np.array([r.mean(), f.mean()])
            decay = case.get("lecam_decay", LECAM_DEFAULT_DECAY)
            # Updated before the penalty reads them; the first update takes the means themselves.
            anchors = means if state["anchors"] is None else decay * state["anchors"] + (1 - decay) * means
            state["anchors"] = anchors
            lc, lc_dr, lc_df = _lecam(r, f, *anchors)
            total += case["lecam_weight"] * lc
            terms["lecam"] = _add(_through_logits(case["lecam_weight"] * lc_dr, real),
                                  _through_logits(case["lecam_weight"] * lc_df, fake))
            logs.setdefault("lecam", []).append(lc)
        for name, term in terms.items():
            if name != "loss":
                grads = _add(grads, term)
        contributions.append({name: np.sqrt(sum(np.sum(np.square(g)) for g in term.values()))
                              for name, term in terms.items()})
        for key in ("w", "v", "b"):
            p[key] = p[key] - LR * grads[key]
        state["iterations"] += 1
        logs["d_loss"].append(total)
        logs["d_real"].append(r.mean())
        logs["d_fake"].append(f.mean())
    expected = {key: float(np.mean(values)) for key, values in logs.items()}
    for name, pairs in due_weighted.items():
        if case.get(f"{name}_weight"):
            weight = sum(d for _, d in pairs)
            expected[name] = sum(v * d for v, d in pairs) / weight if weight else 0.0

    # The G step plays against the updated D; RpGAN pairs with the last D step's real batch.
    z = next(draws)
    fake = z @ p["V"] + p["c"]
    loss, df = g_half(_logits(p, fake), _logits(p, real_parts[-1]))
    dfake = df[:, None] * _input_grads(p, fake)  # dL/dG(z_i)
    p["V"] = p["V"] - LR * z.T @ dfake
    p["c"] = p["c"] - LR * dfake.sum(0)
    expected["g_loss"] = float(loss)
    return expected, contributions


# --- the cases -------------------------------------------------------------------------------------

CASES = [
    # every loss's D and G halves, nothing added
    *[dict(id=f"loss={name}", loss=name) for name in sorted(LOSSES)],
    dict(id="r1", loss="non_saturating", r1_weight=0.8),
    dict(id="r2", loss="non_saturating", r2_weight=0.6),
    dict(id="r1+r2", loss="relativistic", r1_weight=1.0, r2_weight=0.3),
    # lazy, k = 2, one D step per fit step: due, not due, due
    dict(id="lazy k=2 due/not-due/due", loss="relativistic", r1_weight=1.0, r2_weight=0.5,
         penalty_interval=2, steps=3),
    # lazy, k = 3, three D steps per fit step: one due step, two not, averaged in the logs
    dict(id="lazy k=3 in 3 D steps", loss="hinge", r1_weight=0.5, penalty_interval=3, d_steps=3),
    # LeCam: the anchors start at the first step's means, then move by their EMA
    dict(id="lecam", loss="hinge", lecam_weight=0.5, lecam_decay=0.9, steps=2),
    dict(id="lecam default decay", loss="least_squares", lecam_weight=0.3, d_steps=2, steps=2),
    dict(id="wgan-gp paper lambda", family="wgan_gp", d_steps=2),
    dict(id="wgan-gp lambda=3", family="wgan_gp", gp_weight=3.0),
    dict(id="everything", loss="relativistic", r1_weight=1.0, r2_weight=0.5, penalty_interval=2,
         lecam_weight=0.3, d_steps=2, steps=2),
    # the same, traced (tf.function, the lazy penalty in a tf.cond): graph mode agrees
    dict(id="everything traced", loss="relativistic", r1_weight=1.0, r2_weight=0.5,
         penalty_interval=2, lecam_weight=0.3, d_steps=2, steps=2, traced=True),
]

_OPTIONS = ("loss", "r1_weight", "r2_weight", "penalty_interval", "lecam_weight", "lecam_decay",
            "gp_weight", "d_steps")


def _build(case, seed=0):
    keras.utils.set_random_seed(seed)
    cls = WGANGP if case.get("family") == "wgan_gp" else GAN
    kwargs = {k: case[k] for k in _OPTIONS if k in case}
    kwargs.setdefault("d_steps", 1)
    gan = cls(_generator(), _discriminator(), seed=seed, **kwargs)
    # Weights of a known size: logits around +-1, input gradients of norm ~1.7 (so the gradient
    # penalty's norm - 1 is far from 0), generated images of the scale of the real ones.
    rng = np.random.default_rng(seed)
    w, v = rng.normal(0, 0.4, PIXELS), rng.normal(0, 0.15, PIXELS)
    gan.discriminator.set_weights([np.concatenate([w, v])[:, None].astype("float32"),
                                   np.array([0.1], "float32")])
    gan.generator.set_weights([rng.normal(0, 0.3, (LATENT, PIXELS)).astype("float32"),
                               rng.normal(0, 0.2, PIXELS).astype("float32")])
    sgd = {"name": "sgd", "learning_rate": LR}
    gan.compile(d_optimizer=sgd, g_optimizer=sgd, run_eagerly=not case.get("traced"))
    return gan


def _replayed_draws(gan, case, d_steps):
    """The random numbers the next step draws, from a copy of the model's SeedGenerator:
    per D step z (then alpha for WGAN-GP), then the G step's z; as float64, flattened."""
    stream = keras.random.SeedGenerator(0)
    stream.state.assign(gan.seed_generator.state.value)
    for _ in range(d_steps):
        yield np.array(keras.random.normal((PER_STEP, LATENT), seed=stream), "float64")
        if case.get("family") == "wgan_gp":
            yield np.array(keras.random.uniform((PER_STEP,), 0.0, 1.0, seed=stream), "float64")
    yield np.array(keras.random.normal((PER_STEP, LATENT), seed=stream), "float64")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_a_step_optimizes_and_logs_the_objective_recomputed_term_by_term(case):
    gan = _build(case)
    d_steps = case.get("d_steps", 1)
    rng = np.random.default_rng(1)
    state = {"iterations": 0, "anchors": None}
    for step in range(case.get("steps", 1)):
        real = rng.uniform(-1, 1, (d_steps * PER_STEP, PIXELS)).astype("float32")
        # The engine's split: D step i takes rows i, i + d_steps, ...
        parts = [real[i::d_steps].astype("float64") for i in range(d_steps)]
        before = _params(gan)
        expected_params = {k: np.copy(v) for k, v in before.items()}
        expected, contributions = _reference_step(
            expected_params, case, parts, _replayed_draws(gan, case, d_steps), state)

        logs = gan.fit(tf.data.Dataset.from_tensors(real.reshape(-1, *SHAPE)), verbose=0).history
        after = _params(gan)

        where = f"fit step {step + 1}"
        # Every weighted term moves D: the tolerances below could not hide any of them.
        for terms in contributions:
            for name, size in terms.items():
                if name in ("r1", "r2") and size == 0:
                    continue  # not a due step
                assert size > 1e-2, (where, name, size)
        # optimized: the SGD update is -LR times the recomputed gradient of the whole objective
        steps = {k: expected_params[k] - before[k] for k in before}
        scale = max(float(np.max(np.abs(s))) for s in steps.values())
        for key in before:
            np.testing.assert_allclose(after[key] - before[key], steps[key], rtol=1e-4,
                                       atol=1e-5 * scale, err_msg=f"{where}: {key}")
        # logged: exactly these values, under exactly these names
        assert set(logs) == set(expected), where
        for key, value in expected.items():
            assert logs[key][0] == pytest.approx(value, rel=1e-5, abs=1e-6), (where, key)
        if case.get("lecam_weight"):
            anchors = np.array(gan.regularizer("lecam").anchors)
            np.testing.assert_allclose(anchors[:2], state["anchors"], rtol=1e-5, atol=1e-6)
            assert anchors[2] == state["iterations"]  # one anchor update per D step
