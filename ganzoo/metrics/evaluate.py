"""`evaluate`: every metric of a GAN against a reference data set, with its protocol.

Protocol (recorded in every report):

* **Generated samples**: exactly ``gan.generate(num_samples, seed)``: latents
  ``tf.random.stateless_normal(seed=[seed, 0])`` through the sampling generator
  (the EMA generator if the GAN has one), ``training=False``.
* **Labels** of a conditional GAN (``label_distribution``): by default
  ("auto") in the class proportions of the labelled reference split
  (`ganzoo.sampling.proportional_labels`), so that the samples follow the
  distribution FID, KID and precision/recall compare them with; balanced,
  ``arange(num_samples) % num_classes``, for reference data without labels or
  with labels the GAN has no class for, or with ``label_distribution="balanced"``.
  On balanced data (``mnist_5k:train``: 450 digits per class) both are the same
  labels. Conditional accuracy and intra-FID use the same labels.
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

Metrics are registered (`ganzoo.metrics.registry`): each is one `Metric` class,
in the module that implements it, declaring its name, aliases, needs, options
and summary keys; `Evaluator` loops over the requested ones. The built-ins are
``fid``, ``kid``, ``inception_score`` (``is``), ``precision_recall`` (``pr``),
``mode_coverage`` (``modes``), ``reconstruction`` (``recon``), ``data_copying``
(``copying``: the C_T test of Meehan et al. 2020 against the training split,
with ``heldout_split`` as the fresh real data), and for conditional GANs
``conditional_accuracy`` (the extractor's classifier agrees with the requested
class) and ``intra_fid`` (the mean over classes of the FID between the samples
of a class and the reference images labelled with it; Miyato & Koyama 2018,
arXiv:1802.05637, Section 5). `available_metrics()` lists every registered
name, `describe_metrics()` their aliases, options with defaults and summary keys.
"""

import time

import numpy as np

from ganzoo import sampling
from ganzoo.metrics import _checks
from ganzoo.metrics import extractors as extractors_lib
from ganzoo.metrics._reference import check_data_options, iter_batches, load_arrays, rebatch
from ganzoo.metrics._collect import Collected, progbar
from ganzoo.metrics.registry import MetricInputs, available_metrics, get_metric, metric_aliases

# The built-in metrics register themselves when their modules are imported, in this
# order (that of `available_metrics()`, `ganzoo evaluate --help` and the error messages).
from ganzoo.metrics import frechet, kernel_distance, inception, improved_precision_recall  # noqa: E402,F401
from ganzoo.metrics import modes, reconstruction, copying, conditional  # noqa: E402,F401

#: The built-in metrics' names; `available_metrics()` also lists those registered later.
METRICS = available_metrics()
#: The built-in metrics' aliases, ``{alias: name}``; see `metric_aliases()`.
ALIASES = metric_aliases()
DEFAULT_METRICS = ("fid", "kid", "precision_recall", "mode_coverage")
#: The values of `Evaluator`'s ``label_distribution``.
LABEL_DISTRIBUTIONS = ("auto", "data", "balanced")
#: Keys of the metric functions' results that the shared protocol already holds
#: (sample counts, feature dimension), or too long for a report (per-image errors).
_IN_PROTOCOL = frozenset(
    ("num_a", "num_b", "num_real", "num_fake", "num_samples", "num_data", "num_images",
     "num_generated_images", "feature_dim", "per_image")
)


def resolve_metrics(metrics):
    """Canonical metric names, in order, without duplicates.

    Args:
        metrics: a sequence of names or aliases of registered metrics
            (`available_metrics()`), or a comma-separated string.

    Returns:
        tuple of registered names.

    Raises:
        ValueError: an unknown name (the message lists the registered names
            and aliases), or no name at all.
    """
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    out = []
    for name in names:
        key = get_metric(name).name
        if key not in out:
            out.append(key)
    if not out:
        raise ValueError(f"No metric to compute. Received: metrics={metrics!r}")
    return tuple(out)


def _check_options(options, metrics):
    """``{metric: options with defaults}`` for each of `metrics`; checks every metric's options given."""
    resolved = {}
    for name, values in dict(options or {}).items():
        try:
            metric = get_metric(name)
        except ValueError:
            raise ValueError(f"Options for an unknown metric. Received: options key {name!r}") from None
        resolved[metric.name] = metric.resolve_options(dict(values))  # also for a metric not asked for
    return {m: resolved.get(m) or get_metric(m).resolve_options({}) for m in metrics}


class Evaluator:
    """Computes metrics of GANs against one reference set, reading it only once.

    The reference features (and probabilities) are computed at the first call
    and reused, e.g. by `EvaluationCallback` every few epochs.

    Args:
        data: reference source for `ganzoo.data.load` ("mnist_5k", "tfds:...",
            a folder, an .npz), or images ``(N, H, W, C)`` in [-1, 1], or a
            tuple ``(images, labels)``.
        metrics: names or aliases of registered metrics (`available_metrics()`),
            or a comma-separated string.
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
            (each metric's `Metric.options`; `describe_metrics()` lists them).
        data_options: how `data` is read, as it was for training: ``resize``,
            ``skip_corrupt``, ``data_dir``, ``download`` of `ganzoo.data.load`.
        label_distribution: the labels a class-conditional GAN's samples are
            generated for: "data" (in the class proportions of the reference
            split's labels, `ganzoo.sampling.proportional_labels`), "balanced"
            (``arange(N) % num_classes``) or "auto" (default: "data" when the
            reference's labels are classes of the GAN, else "balanced"). Unused
            for unconditional GANs.

    Raises:
        ValueError: an unknown metric, option or `label_distribution`.
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
        label_distribution="auto",
    ):
        if label_distribution not in LABEL_DISTRIBUTIONS:
            raise ValueError(
                f"label_distribution must be one of {list(LABEL_DISTRIBUTIONS)}. "
                f"Received: label_distribution={label_distribution!r}"
            )
        self.label_distribution = label_distribution
        self.data = data
        self.data_options = check_data_options(data_options)
        self.metrics = resolve_metrics(metrics)
        self.options = _check_options(options, self.metrics)
        self._metrics = tuple(get_metric(name) for name in self.metrics)
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

    def data_name(self):
        """The reference data's name in reports: the source, or "array"."""
        return self.data if isinstance(self.data, str) else "array"

    def split_name(self, split):
        """`split` as reports record it: None for arrays (they have no splits: every image is used)."""
        return split if isinstance(self.data, str) else None

    def _needs(self, need):
        """Whether any requested metric needs `need` (a key of `ganzoo.metrics.registry.NEEDS`)."""
        return any(need in metric.needs for metric in self._metrics)

    def _need(self):
        """``(features, probabilities)``: what the generated images are extracted for."""
        return self._needs("features"), self._needs("probabilities")

    def _get_extractor(self, image_shape):
        if self.extractor is None:
            self.extractor = extractors_lib.get_extractor(
                self.extractor_spec, image_shape, self.data
            )
            self.batch_size = self._batch_size or self.extractor.batch_size
        return self.extractor

    def reference(self, image_shape, progress=False, labels=False):
        """Reference features, statistics and probabilities (computed once).

        Args:
            image_shape: ``(H, W, C)`` the images are read at.
            progress: show a progress bar.
            labels: also read the reference's labels when it has them, even if
                no metric needs them (the class proportions of
                ``label_distribution="data"``).

        Returns:
            dict with ``features`` (N, D) float32 or None, ``stats``
            (`FeatureStats`) or None, ``probs`` (N, C) or None, ``labels``
            int32 (N,) or None, ``num``, ``name`` and ``image_shape``.
        """
        want_labels = self._needs("reference_labels") or bool(labels)
        if self._reference is not None and want_labels and not self._reference["labels_read"]:
            self._reference = None  # read before without labels: read again, with them
        if self._reference is not None:
            if self._reference["image_shape"] != tuple(image_shape):
                raise ValueError(
                    "This Evaluator's reference was read at image shape "
                    f"{self._reference['image_shape']}; use a new Evaluator for other shapes. "
                    f"Received: image_shape={tuple(image_shape)}"
                )
            return self._reference
        extractor = self._get_extractor(image_shape)
        need_feats = self._needs("reference_features")
        need_probs = self._needs("reference_probabilities")
        if not (need_feats or need_probs or want_labels):  # e.g. reconstruction only
            self._reference = {"features": None, "stats": None, "probs": None, "labels": None,
                               "labels_read": False, "num": 0, "name": self.data_name(),
                               "image_shape": tuple(image_shape)}
            return self._reference
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
                if y is None and self._needs("reference_labels"):
                    needing = next(m.name for m in self._metrics if "reference_labels" in m.needs)
                    raise ValueError(
                        f"{needing} needs the reference images' labels. Received: unlabelled {name}"
                    )
                labels.append(y)
            # Scale decided already: by ganzoo.data.load, or on the whole array.
            if need_feats or need_probs:  # not when only the labels are read
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
            "labels": np.concatenate(labels) if labels and labels[0] is not None else None,
            "labels_read": want_labels,
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

    def sample_labels(self, gan, num_samples, ref):
        """The labels `gan`'s samples are generated for (see ``label_distribution``).

        Args:
            gan: the evaluated GAN.
            num_samples: int, the number of samples.
            ref: `reference`'s dict, read with ``labels=True`` unless balanced.

        Returns:
            ``(labels int32 (num_samples,) or None, description str or None)``;
            None for an unconditional GAN.

        Raises:
            ValueError: "data" with unlabelled reference data, or reference
                labels the GAN has no class for.
        """
        num_classes = gan.num_classes
        if num_classes is None:
            return None, None
        balanced = sampling.default_labels(num_samples, num_classes)
        why = "balanced: arange(N) % num_classes"
        if self.label_distribution == "balanced":
            return balanced, why
        labels = ref.get("labels")
        if labels is None:
            if self.label_distribution == "auto":
                return balanced, f"{why} (unlabelled {ref['name']})"
            raise ValueError(
                "label_distribution='data' draws the samples' labels in the reference's class "
                "proportions; pass labelled reference data or label_distribution='balanced'. "
                f"Received: unlabelled {ref['name']}"
            )
        counts = np.bincount(labels, minlength=num_classes)
        if counts.size > num_classes:
            if self.label_distribution == "auto":
                return balanced, (f"{why} ({ref['name']}'s labels go up to {counts.size - 1}, beyond "
                                  f"the GAN's {num_classes} classes)")
            raise ValueError(
                f"The samples' labels follow the reference's class proportions, but the GAN has "
                f"{num_classes} classes; pass label_distribution='balanced' to ignore the reference's "
                f"labels. Received: reference {ref['name']} with labels up to {counts.size - 1}"
            )
        return (sampling.proportional_labels(num_samples, counts),
                f"in the class proportions of {ref['name']} ({counts.tolist()}), interleaved "
                "(ganzoo.sampling.proportional_labels)")

    def _generate_and_extract(self, gan, num_samples, seed, labels, keep, progress):
        """Streams ``gan.generate(num_samples, seed, labels=labels)`` through the extractor.

        Returns:
            ``(features or None, stats or None, probs or None, first `keep` images)``.
        """
        need_feats, need_probs = self._need()
        extractor = self.extractor
        z = gan.latent(num_samples, seed)
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
        conditional_only = [m.name for m in self._metrics if m.conditional_only]
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
        for metric in self._metrics:
            metric.check(gan, self, self.options[metric.name])
        if gan.num_classes is not None and self.label_distribution == "data":
            # Before any image is read: no labels, or labels the GAN has no class for.
            from ganzoo.metrics.conditional import check_reference_classes
            check_reference_classes(self.data, self.split, gan.num_classes, self.data_name(),
                                    needing="label_distribution='data'")
        extractor.prepare()
        return image_shape, extractor

    def __call__(self, gan, num_samples=5000, seed=0, progress=True):
        """Evaluates `gan`; see `evaluate` for the report's layout."""
        num_samples = _checks.positive_int("num_samples", num_samples, minimum=2)
        started = time.time()
        image_shape, extractor = self.check(gan)
        ref = self.reference(image_shape, progress,
                             labels=gan.num_classes is not None and self.label_distribution != "balanced")
        labels, labels_protocol = self.sample_labels(gan, num_samples, ref)
        keep = max(m.num_images(self.options[m.name], num_samples) for m in self._metrics)
        feats, stats, probs, kept = self._generate_and_extract(gan, num_samples, seed, labels, keep, progress)

        shared = {
            "extractor": extractor.name,
            "feature_dim": extractor.feature_dim,
            "resize": extractor.resize,
            "reference": self.data_name(),
            "split": self.split_name(self.split),
            "num_generated": num_samples,
            "num_reference": ref["num"],
        }
        inputs = MetricInputs(
            self, gan=gan, seed=seed, num_samples=num_samples, image_shape=image_shape,
            extractor=extractor, labels=labels, labels_protocol=labels_protocol,
            features=feats, feature_stats=stats, probabilities=probs, images=kept,
            reference_features=ref["features"], reference_stats=ref["stats"],
            reference_probabilities=ref["probs"], reference_labels=ref.get("labels"),
            reference_num=ref["num"], reference_name=ref["name"],
            heldout_split=self.split_name(self.heldout_split),
        )
        results = {}
        for metric in self._metrics:
            raw = dict(metric.compute(inputs, dict(self.options[metric.name])))
            # The shared protocol, with what the metric adds or replaces, then its parameters.
            protocol = {**shared, **raw.pop("protocol", {})}
            protocol["params"] = {
                k: v for k, v in raw.items() if k not in metric.values and k not in _IN_PROTOCOL
            }
            values = {k: raw[k] for k in metric.values if k in raw}
            results[metric.name] = {**values, "protocol": protocol}

        summary = {}
        for metric in self._metrics:
            for key, out_key in metric.summary.items():
                if key in results[metric.name]:
                    summary[out_key] = float(results[metric.name][key])
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
                "sampling": "gan.generate(num_samples, seed, labels): z = tf.random.stateless_normal("
                "(N, latent_dim), seed=[seed, 0]) through the sampling generator, training=False"
                + (f"; labels {labels_protocol}" if labels is not None else ""),
                "label_distribution": None if labels is None else self.label_distribution,
                "heldout_split": self.heldout_split if self._needs("heldout_images") else None,
            },
            "metrics": results,
            "summary": summary,
            "seconds": round(time.time() - started, 2),
        }


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
    label_distribution="auto",
):
    """Evaluates a GAN with several metrics, recording the protocol of each number.

    Args:
        gan: a ganzoo `GAN` (e.g. from `ganzoo.runs.load_gan`).
        data: the reference data: a `ganzoo.data.load` source or an image array
            in [-1, 1] (optionally ``(images, labels)``).
        metrics: names or aliases of registered metrics (`available_metrics()`:
            "fid", "kid", "inception_score" ("is"), "precision_recall" ("pr"),
            "mode_coverage" ("modes"), "reconstruction" ("recon"),
            "data_copying" ("copying"), "conditional_accuracy", "intra_fid" and
            any registered with `register_metric`); a sequence or a
            comma-separated string.
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
            "reconstruction": {"num_images": 50, "steps": 300}}`` (each
            metric's `Metric.options`, listed by `describe_metrics()`).
        data_options: ``resize``, ``skip_corrupt``, ``data_dir``, ``download``
            of `ganzoo.data.load` for reading `data`.
        label_distribution: a conditional GAN's sample labels: "auto"
            (default), "data" or "balanced"; see `Evaluator`.

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
        label_distribution=label_distribution,
    )
    return evaluator(gan, num_samples=num_samples, seed=seed, progress=progress)
