"""`evaluate`: every metric of a GAN against a reference data set, with its protocol.

Protocol (recorded in every report):

* **Generated samples**: exactly ``gan.generate(num_samples, seed)``: latents
  ``tf.random.stateless_normal(seed=[seed, 0])`` through the sampling generator
  (the EMA generator if the GAN has one), ``training=False``; for a conditional
  GAN the labels are ``arange(num_samples) % num_classes`` (balanced).
* **Reference data**: the ``split`` of ``data`` read in its fixed order by
  `ganzoo.data.load` at the GAN's image shape. The default is the **"train"**
  split, the data the zoo's GANs are fit to (for ``mnist_5k``: 4,500 digits, 450
  per class), as in the FID paper's use of training-set statistics: it is
  large enough for stable 64-d statistics and k-NN manifolds, while the 500
  "test" digits would make FID and precision/recall depend on the small
  reference size. Reconstruction error needs images the GAN never saw, so it
  uses ``heldout_split`` (default **"test"**).
* **Extractor**: "auto" picks the offline MNIST classifier for 28x28x1 images
  (no resizing) and InceptionV3 (bilinear resize to 299x299) otherwise; see
  `ganzoo.metrics.extractors`.
* **Units**: KID is the raw MMD^2, not x1000 (recorded as the KID protocol's
  ``params.unit``; see `ganzoo.metrics.kernel_distance`).

Metric names (aliases in brackets): ``fid``, ``kid``, ``inception_score``
(``is``), ``precision_recall`` (``pr``), ``mode_coverage`` (``modes``),
``reconstruction`` (``recon``), ``data_copying`` (``copying``: the C_T test of
Meehan et al. 2020 against the training split, with ``heldout_split`` as the
fresh real data), and for conditional GANs ``conditional_accuracy`` (the
extractor's classifier agrees with the requested class) and ``intra_fid`` (the
mean over classes of the FID between the samples of a class and the reference
images labelled with it; Miyato & Koyama 2018, arXiv:1802.05637, Section 5).
"""

import time

import numpy as np

from ganzoo import sampling
from ganzoo.metrics import _checks
from ganzoo.metrics import extractors as extractors_lib
from ganzoo.metrics._reference import check_data_options, iter_batches, load_arrays, rebatch
from ganzoo.metrics._collect import Collected, progbar
from ganzoo.metrics.frechet import fid_from_stats
from ganzoo.metrics.inception import inception_score
from ganzoo.metrics.conditional import (
    check_reference_classes, conditional_accuracy, intra_fid, requested_labels,
)
from ganzoo.metrics.copying import data_copying
from ganzoo.metrics.kernel_distance import kid
from ganzoo.metrics.modes import mode_coverage
from ganzoo.metrics.improved_precision_recall import precision_recall
from ganzoo.metrics.reconstruction import reconstruction_error

METRICS = (
    "fid", "kid", "inception_score", "precision_recall", "mode_coverage", "reconstruction",
    "data_copying", "conditional_accuracy", "intra_fid",
)
#: Metrics that only apply to conditional GANs.
CONDITIONAL_METRICS = ("conditional_accuracy", "intra_fid")
ALIASES = {
    "copying": "data_copying",
    "c_t": "data_copying",
    "accuracy": "conditional_accuracy",
    "is": "inception_score",
    "pr": "precision_recall",
    "modes": "mode_coverage",
    "recon": "reconstruction",
    "reconstruction_error": "reconstruction",
}
DEFAULT_METRICS = ("fid", "kid", "precision_recall", "mode_coverage")

#: Keyword options each metric accepts through ``options={metric: {...}}``.
OPTIONS = {
    "fid": ("eps",),
    "kid": ("subset_size", "num_subsets"),
    "inception_score": ("splits",),
    "precision_recall": ("k", "batch_size"),
    "mode_coverage": ("threshold", "smoothing"),
    "reconstruction": ("num_images", "steps", "learning_rate", "restarts", "batch_size"),
    "data_copying": ("num_cells", "min_cell_fraction"),
    "conditional_accuracy": (),
    "intra_fid": ("eps",),
}
#: Keys of each metric's result that are measured values (the rest are parameters).
VALUES = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "inception_score": ("is", "is_std"),
    "precision_recall": ("precision", "recall"),
    "mode_coverage": (
        "modes_hit", "num_modes", "missing_modes", "histogram",
        "sample_distribution", "data_distribution", "kl_sample_data",
    ),
    "reconstruction": ("mse", "mse_std", "mse_median", "mse_generated", "mse_generated_std"),
    "data_copying": ("c_t", "cells", "num_cells_used"),
    "conditional_accuracy": ("accuracy", "per_class"),
    "intra_fid": ("intra_fid", "per_class"),
}
#: Scalars copied to ``report["summary"]`` (and to the Keras logs by the callback).
SUMMARY = {
    "fid": {"fid": "fid"},
    "kid": {"kid": "kid", "kid_std": "kid_std"},
    "inception_score": {"is": "is", "is_std": "is_std"},
    "precision_recall": {"precision": "precision", "recall": "recall"},
    "mode_coverage": {"modes_hit": "modes_hit", "kl_sample_data": "modes_kl"},
    "reconstruction": {"mse": "recon_mse", "mse_generated": "recon_mse_generated"},
    "data_copying": {"c_t": "c_t"},
    "conditional_accuracy": {"accuracy": "conditional_accuracy"},
    "intra_fid": {"intra_fid": "intra_fid"},
}
DEFAULT_RECON_IMAGES = 100
#: Keys of the metric functions' results that the shared protocol already holds
#: (sample counts, feature dimension), or too long for a report (per-image errors).
_IN_PROTOCOL = frozenset(
    ("num_a", "num_b", "num_real", "num_fake", "num_samples", "num_data", "num_images",
     "num_generated_images", "feature_dim", "per_image")
)


def resolve_metrics(metrics):
    """Canonical metric names, in order, without duplicates.

    Args:
        metrics: a sequence of names or aliases, or a comma-separated string.

    Returns:
        tuple of names from `METRICS`.
    """
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    out = []
    for name in names:
        key = ALIASES.get(str(name).strip().lower(), str(name).strip().lower())
        if key not in METRICS:
            raise ValueError(
                f"Unknown metric; expected some of {list(METRICS)} or the aliases "
                f"{sorted(ALIASES)}. Received: {name!r}"
            )
        if key not in out:
            out.append(key)
    if not out:
        raise ValueError(f"No metric to compute. Received: metrics={metrics!r}")
    return tuple(out)


def _check_options(options, metrics):
    options = dict(options or {})
    resolved = {}
    for name, values in options.items():
        key = ALIASES.get(name, name)
        if key not in OPTIONS:
            raise ValueError(f"Options for an unknown metric. Received: options key {name!r}")
        unknown = set(values) - set(OPTIONS[key])
        if unknown:
            raise ValueError(
                f"The metric {key!r} takes the options {list(OPTIONS[key])}. "
                f"Received: {sorted(unknown)}"
            )
        resolved[key] = dict(values)
    return {m: resolved.get(m, {}) for m in metrics}


class Evaluator:
    """Computes metrics of GANs against one reference set, reading it only once.

    The reference features (and probabilities) are computed at the first call
    and reused, e.g. by `EvaluationCallback` every few epochs.

    Args:
        data: reference source for `ganzoo.data.load` ("mnist_5k", "tfds:...",
            a folder, an .npz), or images ``(N, H, W, C)`` in [-1, 1], or a
            tuple ``(images, labels)``.
        metrics: names or aliases (see `METRICS`), or a comma-separated string.
        extractor: "auto", "mnist_5k_classifier", "inception_v3" or a
            `FeatureExtractor`.
        split: reference split for FID, KID, precision/recall and mode coverage
            (default "train", see the module docstring).
        heldout_split: split of real images for the reconstruction error
            (default "test", images the GAN was not trained on).
        num_reference: use only the first N reference images (fixed order), or
            None for the whole split.
        batch_size: images per generator / extractor call; None: the
            extractor's (250 for the MNIST classifier, 32 for InceptionV3).
        options: per-metric keyword options, e.g. ``{"kid": {"subset_size": 500}}``
            (see `OPTIONS`).
        data_options: how `data` is read, as it was for training: ``resize``,
            ``skip_corrupt``, ``data_dir``, ``download`` of `ganzoo.data.load`.
    """

    def __init__(
        self,
        data="mnist_5k",
        metrics=DEFAULT_METRICS,
        extractor="auto",
        split="train",
        heldout_split="test",
        num_reference=None,
        batch_size=None,
        options=None,
        data_options=None,
    ):
        self.data = data
        self.data_options = check_data_options(data_options)
        self.metrics = resolve_metrics(metrics)
        self.options = _check_options(options, self.metrics)
        self.extractor_spec = extractor
        self.split = split
        self.heldout_split = heldout_split
        self.num_reference = (
            None if num_reference is None else _checks.positive_int("num_reference", num_reference, 2)
        )
        self._batch_size = None if batch_size is None else _checks.positive_int("batch_size", batch_size)
        self.batch_size = None  # resolved with the extractor
        self.extractor = None
        self._reference = None
        self._heldout = None

    # --- reference side -------------------------------------------------------

    def _data_name(self):
        return self.data if isinstance(self.data, str) else "array"

    def _split_name(self, split):
        # Arrays have no splits: every image is used.
        return split if isinstance(self.data, str) else None

    def _need(self):
        feats = any(m in self.metrics for m in ("fid", "kid", "precision_recall", "data_copying",
                                                "intra_fid"))
        probs = any(m in self.metrics for m in ("inception_score", "mode_coverage",
                                                "conditional_accuracy"))
        return feats, probs

    def _get_extractor(self, image_shape):
        if self.extractor is None:
            self.extractor = extractors_lib.get_extractor(
                self.extractor_spec, image_shape, self.data
            )
            self.batch_size = self._batch_size or self.extractor.batch_size
        return self.extractor

    def reference(self, image_shape, progress=False):
        """Reference features, statistics and probabilities (computed once).

        Returns:
            dict with ``features`` (N, D) float32 or None, ``stats``
            (`FeatureStats`) or None, ``probs`` (N, C) or None, ``num``,
            ``name`` and ``image_shape``.
        """
        if self._reference is not None:
            if self._reference["image_shape"] != tuple(image_shape):
                raise ValueError(
                    "This Evaluator's reference was read at image shape "
                    f"{self._reference['image_shape']}; use a new Evaluator for other shapes. "
                    f"Received: image_shape={tuple(image_shape)}"
                )
            return self._reference
        extractor = self._get_extractor(image_shape)
        need_feats, _ = self._need()
        # Mode coverage compares with the data's class distribution as seen by the same
        # classifier (its predictions on the reference images), so that its errors
        # affect both sides alike and any labelled or unlabelled data works.
        need_probs = "mode_coverage" in self.metrics
        if not (need_feats or need_probs):  # e.g. reconstruction only
            self._reference = {"features": None, "stats": None, "probs": None, "num": 0,
                               "name": self._data_name(), "image_shape": tuple(image_shape)}
            return self._reference
        want_labels = "intra_fid" in self.metrics
        num, name, batches = iter_batches(
            self.data, self.split, image_shape=image_shape, labels=want_labels, limit=self.num_reference,
            data_options=self.data_options,
        )
        collected, labels = Collected(extractor, need_feats, need_probs), []
        bar = progbar(num, f"Reference features ({name}, {num} images)", progress)
        done = 0
        # Streamed (the images are never all in memory) and regrouped into batches of
        # `batch_size` across the batches read: one extractor call per full batch, one
        # smaller call at the end, whatever the number of images.
        for chunk, y in rebatch(batches, self.batch_size):
            if want_labels:
                if y is None:
                    raise ValueError(
                        f"intra_fid needs the reference images' labels. Received: unlabelled {name}"
                    )
                labels.append(y)
            # Scale decided already: by ganzoo.data.load, or on the whole array.
            collected.add(chunk)
            done += chunk.shape[0]
            if bar is not None:
                bar.update(done)
        if done < 2:
            raise ValueError(f"The reference data needs at least 2 images. Received: {done} from {name}")
        self._reference = {
            "features": collected.features(),
            "stats": collected.stats,
            "probs": collected.probabilities(),
            "labels": np.concatenate(labels) if want_labels else None,
            "num": int(done),
            "name": name,
            "image_shape": tuple(image_shape),
        }
        return self._reference

    def heldout_features(self, image_shape):
        """Features of every image of the held-out split (computed once)."""
        if getattr(self, "_heldout_features", None) is None:
            images, _, name = load_arrays(self.data, self.heldout_split, image_shape=image_shape,
                                          labels=False, data_options=self.data_options)
            feats = [self.extractor(images[s : s + self.batch_size], False, known_scale=True)[0]
                     for s in range(0, images.shape[0], self.batch_size)]
            self._heldout_features = (np.concatenate(feats), name)
        return self._heldout_features

    def heldout(self, image_shape, num_images):
        """The first `num_images` images (and labels) of the held-out split."""
        if self._heldout is None or self._heldout[0].shape[0] < num_images:
            images, labels, name = load_arrays(
                self.data, self.heldout_split, image_shape=image_shape, labels=True, limit=num_images,
                data_options=self.data_options,
            )
            self._heldout = (images, labels, name)
        images, labels, name = self._heldout
        return images[:num_images], (None if labels is None else labels[:num_images]), name

    # --- generated side -------------------------------------------------------

    def _generate_and_extract(self, gan, num_samples, seed, keep, progress):
        """Streams ``gan.generate(num_samples, seed)`` through the extractor.

        Returns:
            ``(features or None, stats or None, probs or None, first `keep` images)``.
        """
        need_feats, need_probs = self._need()
        extractor = self.extractor
        z = gan.latent(num_samples, seed)
        labels = sampling.default_labels(num_samples, gan.num_classes)
        collected, kept = Collected(extractor, need_feats, need_probs), []
        bar = progbar(num_samples, f"Generated samples ({num_samples})", progress)
        for start in range(0, num_samples, self.batch_size):
            # One batch at a time (streamed through the extractor), with the call of `gan.generate`.
            end = start + self.batch_size
            images = sampling.sample(gan.sampling_generator, z[start:end],
                                     None if labels is None else labels[start:end], self.batch_size)
            # A generator's output is [-1, 1] by construction, even if a batch is all bright.
            images = _checks.images(images, "Generated images", shape=tuple(gan.image_shape),
                                    known_scale=True)
            if len(kept) * self.batch_size < keep:
                kept.append(images)
            if need_feats or need_probs:
                collected.add(images)
            if bar is not None:
                bar.update(min(start + self.batch_size, num_samples))
        kept = np.concatenate(kept)[:keep] if kept else None
        return collected.features(), collected.stats, collected.probabilities(), kept

    # --- the report -----------------------------------------------------------

    def check(self, gan):
        """Refuses, before any image is read or generated, what this evaluation cannot do
        for `gan` (also its extractor's missing weights, `FeatureExtractor.prepare`).

        Returns:
            ``(image_shape, extractor)``.
        """
        for attr in ("latent", "sampling_generator", "image_shape", "latent_dim"):
            if not hasattr(gan, attr):
                raise ValueError(
                    f"Expected a ganzoo GAN. Received: {type(gan).__name__} without `{attr}`"
                )
        conditional_only = [m for m in self.metrics if m in CONDITIONAL_METRICS]
        if conditional_only and getattr(gan, "num_classes", None) is None:
            raise ValueError(
                f"{conditional_only} measure a class-conditional GAN. Received: an unconditional "
                f"{type(gan).__name__}"
            )
        image_shape = tuple(int(d) for d in gan.image_shape)
        extractor = self._get_extractor(image_shape)
        if not extractor.accepts(image_shape):
            raise ValueError(
                f"The extractor {extractor.name!r} takes images of shape {extractor.input_shape}, "
                f"the GAN makes {image_shape}; use extractor='inception_v3'. "
                f"Received: image_shape={image_shape}"
            )
        _, need_probs = self._need()
        if need_probs and extractor.num_classes is None:
            raise ValueError(
                f"Inception score and mode coverage need class probabilities, which the "
                f"extractor {extractor.name!r} does not give. Received: metrics={list(self.metrics)}"
            )
        if "reconstruction" in self.metrics:
            _checks.positive_int(
                "num_images", self.options["reconstruction"].get("num_images", DEFAULT_RECON_IMAGES)
            )
        if "intra_fid" in self.metrics:
            check_reference_classes(self.data, self.split, gan.num_classes, self._data_name())
        extractor.prepare()
        return image_shape, extractor

    def __call__(self, gan, num_samples=5000, seed=0, progress=True):
        """Evaluates `gan`; see `evaluate` for the report's layout."""
        num_samples = _checks.positive_int("num_samples", num_samples, minimum=2)
        started = time.time()
        image_shape, extractor = self.check(gan)
        ref = self.reference(image_shape, progress)
        recon_opts = dict(self.options.get("reconstruction", {}))
        num_recon = _checks.positive_int(
            "num_images", recon_opts.pop("num_images", DEFAULT_RECON_IMAGES)
        ) if "reconstruction" in self.metrics else 0
        feats, stats, probs, kept = self._generate_and_extract(
            gan, num_samples, seed, min(num_recon, num_samples), progress
        )

        shared = {
            "extractor": extractor.name,
            "feature_dim": extractor.feature_dim,
            "resize": extractor.resize,
            "reference": self._data_name(),
            "split": self._split_name(self.split),
            "num_generated": num_samples,
            "num_reference": ref["num"],
        }
        results = {}
        for name in self.metrics:
            opts = self.options.get(name, {})
            protocol = dict(shared)
            if name == "fid":
                raw = fid_from_stats(stats, ref["stats"], **opts)
            elif name == "kid":
                raw = kid(feats, ref["features"], seed=seed, **opts)
            elif name == "inception_score":
                raw = inception_score(probs, **opts)
                protocol.update({"reference": None, "split": None, "num_reference": 0})
            elif name == "precision_recall":
                raw = precision_recall(ref["features"], feats, **opts)
            elif name == "mode_coverage":
                data_labels = ref["probs"].argmax(axis=1)
                raw = mode_coverage(probs, data_labels, num_classes=extractor.num_classes, **opts)
                protocol["data_distribution_from"] = (
                    f"{extractor.name} predictions on the reference images"
                )
            elif name == "data_copying":
                held_feats, held_name = self.heldout_features(image_shape)
                raw = data_copying(ref["features"], held_feats, feats, seed=seed, **opts)
                protocol["heldout_data"] = held_name
                protocol["num_heldout"] = int(held_feats.shape[0])
            elif name == "conditional_accuracy":
                raw = conditional_accuracy(probs, gan.num_classes)
                protocol.update({"reference": None, "split": None, "num_reference": 0,
                                 "labels": "requested: arange(num_samples) % num_classes"})
            elif name == "intra_fid":
                raw = intra_fid(feats, ref["features"], ref["labels"], gan.num_classes, **opts)
                protocol["class_from"] = "the reference data's labels"
            else:  # reconstruction
                raw, protocol = self._reconstruction(gan, kept, num_recon, seed, recon_opts, protocol)
            values = {k: raw[k] for k in VALUES[name] if k in raw}
            protocol["params"] = {
                k: v for k, v in raw.items() if k not in VALUES[name] and k not in _IN_PROTOCOL
            }
            results[name] = {**values, "protocol": protocol}

        summary = {}
        for name, result in results.items():
            for key, out_key in SUMMARY[name].items():
                if key in result:
                    summary[out_key] = float(result[key])
        return {
            "model": {
                "class": type(gan).__name__,
                "latent_dim": int(gan.latent_dim),
                "image_shape": list(image_shape),
                "num_classes": gan.num_classes,
                "ema_generator": getattr(gan, "ema_generator", None) is not None,
            },
            "protocol": {
                **shared,
                "extractor_details": extractor.protocol(),
                "seed": int(seed),
                "sampling": "gan.generate(num_samples, seed): z = tf.random.stateless_normal("
                "(N, latent_dim), seed=[seed, 0]) through the sampling generator, training=False"
                + ("; labels arange(N) % num_classes" if gan.num_classes is not None else ""),
                "heldout_split": self.heldout_split if "reconstruction" in self.metrics else None,
            },
            "metrics": results,
            "summary": summary,
            "seconds": round(time.time() - started, 2),
        }

    def _reconstruction(self, gan, generated, num_images, seed, opts, protocol):
        image_shape = tuple(int(d) for d in gan.image_shape)
        real, labels, name = self.heldout(image_shape, num_images)
        if gan.num_classes is not None and labels is None:
            raise ValueError(
                "Reconstructing real images with a conditional GAN needs their labels. "
                f"Received: unlabelled held-out data {name!r}"
            )
        held = reconstruction_error(gan, real, labels=labels, seed=seed, known_scale=True, **opts)
        gen_labels = None if gan.num_classes is None else requested_labels(len(generated), gan.num_classes)
        own = reconstruction_error(gan, generated, labels=gen_labels, seed=seed + 1, known_scale=True,
                                   **opts)
        held["mse_generated"] = own["mse"]
        held["mse_generated_std"] = own["mse_std"]
        held["num_generated_images"] = own["num_images"]
        protocol = dict(protocol)
        protocol.update(
            {
                "extractor": None,
                "feature_dim": None,
                "resize": "none (pixel space)",
                "split": self._split_name(self.heldout_split),
                "num_reference": held["num_images"],
                "num_generated": own["num_images"],
                "heldout_data": name,
            }
        )
        return held, protocol


def evaluate(
    gan,
    data="mnist_5k",
    metrics=DEFAULT_METRICS,
    num_samples=5000,
    extractor="auto",
    split="train",
    seed=0,
    batch_size=None,
    progress=True,
    heldout_split="test",
    num_reference=None,
    options=None,
    data_options=None,
):
    """Evaluates a GAN with several metrics, recording the protocol of each number.

    Args:
        gan: a ganzoo `GAN` (e.g. from `ganzoo.runs.load_gan`).
        data: the reference data: a `ganzoo.data.load` source or an image array
            in [-1, 1] (optionally ``(images, labels)``).
        metrics: some of "fid", "kid", "inception_score" ("is"),
            "precision_recall" ("pr"), "mode_coverage" ("modes"),
            "reconstruction" ("recon"); a sequence or a comma-separated string.
        num_samples: generated images (``gan.generate(num_samples, seed)``).
        extractor: "auto" (offline MNIST classifier for 28x28x1, InceptionV3
            otherwise), a name, or a `FeatureExtractor`.
        split: reference split (default "train": the distribution the GAN was
            trained to match; see the module docstring).
        seed: seed of the generated samples and of KID's subsets and the
            reconstruction's starting points.
        batch_size: images per generator / extractor call; None: the
            extractor's (250 for the MNIST classifier, 32 for InceptionV3).
        progress: show `keras.utils.Progbar` bars over the samples.
        heldout_split: real images for the reconstruction error (default "test").
        num_reference: use only the first N reference images, or None for all.
        options: per-metric options, e.g. ``{"kid": {"subset_size": 500},
            "reconstruction": {"num_images": 50, "steps": 300}}``.
        data_options: ``resize``, ``skip_corrupt``, ``data_dir``, ``download``
            of `ganzoo.data.load` for reading `data`.

    Returns:
        A JSON-serializable dict::

            {"model": {...},
             "protocol": {"extractor", "feature_dim", "resize", "reference",
                          "split", "num_generated", "num_reference", "seed",
                          "sampling", ...},
             "metrics": {"fid": {"fid": 3.1, "protocol": {..., "params": {...}}},
                         "kid": {"kid": ..., "kid_std": ...,   # raw MMD^2, not x1000
                                 "protocol": {..., "params": {"unit": ..., ...}}}, ...},
             "summary": {"fid": 3.1, "kid": ..., "precision": ..., ...},
             "seconds": 12.3}
    """
    evaluator = Evaluator(
        data=data,
        metrics=metrics,
        extractor=extractor,
        split=split,
        heldout_split=heldout_split,
        num_reference=num_reference,
        batch_size=batch_size,
        options=options,
        data_options=data_options,
    )
    return evaluator(gan, num_samples=num_samples, seed=seed, progress=progress)
