"""The metric registry: every metric `ganzoo.metrics.evaluate` computes is a registered `Metric`.

A metric is one class that declares its name, aliases, the inputs it needs,
its options and which keys of its result are values and which go into the
report's summary; `compute` turns the inputs into a result dict. The built-in
metrics register themselves in the modules that implement them (`fid` in
`frechet`, `kid` in `kernel_distance`, ...); a metric written outside ganzoo
registers the same way::

    @register_metric
    class MeanBrightness(Metric):
        name = "mean_brightness"
        needs = ("images",)
        values = ("mean",)
        summary = {"mean": "brightness"}

        def compute(self, inputs, options):
            return {"mean": float(inputs.images.mean())}

`Evaluator` loops over the requested metrics: it generates the samples once,
streams them through the extractor for what the metrics need, reads the
reference data once, and calls each metric's `compute`.
"""

import dataclasses

#: What a metric may need from the evaluation (`Metric.needs`), computed once for all metrics.
NEEDS = {
    "features": "extractor features of the generated images (MetricInputs.features, .feature_stats)",
    "probabilities": "class probabilities of the generated images (MetricInputs.probabilities)",
    "images": "the generated images themselves (MetricInputs.images; how many: Metric.num_images)",
    "reference_features": "features of the reference images (.reference_features, .reference_stats)",
    "reference_probabilities": "class probabilities of the reference images",
    "reference_labels": "the reference images' labels (.reference_labels)",
    "heldout_features": "features of the held-out split's images (MetricInputs.heldout_features)",
    "heldout_images": "images of the held-out split (MetricInputs.heldout_images(num))",
}

_REGISTRY = {}  # name -> Metric, in registration order
_ALIASES = {}  # alias -> name


@dataclasses.dataclass(frozen=True)
class Option:
    """One keyword option of a metric, given as ``options={metric: {name: value}}``.

    Attributes:
        name: the keyword.
        default: its value when not given (the metric function's own default).
        doc: one line for the documentation.
    """

    name: str
    default: object = None
    doc: str = ""


class Metric:
    """Base class of a metric computed by `ganzoo.metrics.evaluate`.

    Subclasses set the class attributes and implement `compute`; `check` and
    `num_images` are optional.

    Attributes:
        name: the canonical name (lower case), the key of the metric in reports.
        aliases: other names accepted in ``metrics=`` and ``options=``.
        needs: keys of `NEEDS`, the inputs `compute` reads.
        options: `Option` s accepted in ``options={name: {...}}``.
        values: keys of the result that are measured values; the other keys
            (except sample counts) are recorded as the protocol's ``params``.
        summary: ``{result key: summary key}``, scalars copied to
            ``report["summary"]`` (and to the Keras logs by `EvaluationCallback`).
        conditional_only: the metric measures a class-conditional GAN only.
        description: one line for the documentation.
    """

    name = None
    aliases = ()
    needs = ()
    options = ()
    values = ()
    summary = {}
    conditional_only = False
    description = ""

    def check(self, gan, evaluator, options):
        """Refuses, before any image is read or generated, what this metric cannot do.

        Args:
            gan: the GAN to evaluate.
            evaluator: the `Evaluator` (its ``data``, ``split``, ...).
            options: this metric's options, defaults filled in.

        Raises:
            ValueError: what cannot be measured, ending with "Received: ...".
        """

    def num_images(self, options, num_samples):
        """How many generated images (the first ones) `compute` reads as ``inputs.images``.

        Args:
            options: this metric's options, defaults filled in.
            num_samples: the number of generated images.

        Returns:
            int: ``num_samples`` if the metric needs "images", else 0.
        """
        return num_samples if "images" in self.needs else 0

    def compute(self, inputs, options):
        """The metric's result.

        Args:
            inputs: a `MetricInputs`; what `needs` declares is filled in.
            options: this metric's options, defaults filled in.

        Returns:
            dict: the keys of `values`, parameters, and optionally ``"protocol"``:
            a dict of entries added to (or replacing) the shared protocol.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement compute(inputs, options).")

    def resolve_options(self, given):
        """This metric's options: the defaults updated with `given`.

        Raises:
            ValueError: an option the metric does not take.
        """
        known = [o.name for o in self.options]
        unknown = set(given) - set(known)
        if unknown:
            raise ValueError(f"The metric {self.name!r} takes the options {known}. Received: {sorted(unknown)}")
        return {**{o.name: o.default for o in self.options}, **given}


class MetricInputs:
    """What `Metric.compute` reads: the evaluation's samples, reference and settings.

    Attributes:
        gan: the evaluated GAN.
        seed: int, the seed of the samples (also for a metric's own randomness).
        num_samples: int N, the number of generated images.
        image_shape: ``(H, W, C)``.
        extractor: the `FeatureExtractor`.
        labels: int32 ``(N,)`` labels the samples were generated for, or None.
        labels_protocol: how `labels` were chosen (for reports), or None.
        features: float32 ``(N, D)`` or None; feature_stats: their `FeatureStats`.
        probabilities: float32 ``(N, K)`` or None.
        images: float32 ``(n, H, W, C)``, the first generated images, or None.
        reference_features, reference_stats, reference_probabilities,
        reference_labels: the same for the reference images (or None);
        reference_num: their number; reference_name: e.g. "mnist_5k:train".
        heldout_split: the held-out split's name (None for arrays).
    """

    def __init__(self, evaluator, **values):
        self._evaluator = evaluator
        self.__dict__.update(values)

    @property
    def heldout_features(self):
        """``(features (n, D), name)`` of the held-out split's images (computed once)."""
        return self._evaluator.heldout_features(self.image_shape)

    def heldout_images(self, num):
        """``(images, labels or None, name)``: the first `num` images of the held-out split."""
        return self._evaluator.heldout(self.image_shape, num)


def _key(name):
    return str(name).strip().lower()


def register_metric(metric):
    """Registers a metric for `evaluate`, ``ganzoo evaluate --metrics`` and `EvaluationCallback`.

    Usable as a class decorator. The metric's name, aliases and summary keys
    must be new (`unregister_metric` frees them).

    Args:
        metric: a `Metric` subclass (instantiated without arguments) or instance.

    Returns:
        `metric`, unchanged.

    Raises:
        ValueError: not a `Metric`, a name, alias or summary key already
            registered, a name not lower case, unknown `needs`, or `options` that are not `Option` s.
    """
    instance = metric() if isinstance(metric, type) and issubclass(metric, Metric) else metric
    if not isinstance(instance, Metric):
        raise ValueError(f"register_metric takes a Metric subclass or instance. Received: {metric!r}")
    names = (instance.name, *instance.aliases)
    for name in names:
        if not isinstance(name, str) or not name or name != _key(name):
            raise ValueError(f"Metric names and aliases are non-empty lower-case strings. Received: {name!r}")
        if name in _REGISTRY or name in _ALIASES:
            raise ValueError(
                f"A metric named {name!r} is already registered ({_ALIASES.get(name, name)!r}); "
                f"unregister_metric({_ALIASES.get(name, name)!r}) first. Received: {type(instance).__name__}"
            )
    taken = {out: m.name for m in _REGISTRY.values() for out in m.summary.values()}
    clash = sorted(out for out in instance.summary.values() if out in taken)
    if clash:
        raise ValueError(
            f"A metric's summary keys must be its own: {', '.join(f'{k!r} is {taken[k]!r}s' for k in clash)}. "
            f"Received: {type(instance).__name__}.summary={instance.summary!r}"
        )
    unknown = sorted(set(instance.needs) - set(NEEDS))
    if unknown or isinstance(instance.needs, str):
        raise ValueError(f"Metric.needs is a tuple of {sorted(NEEDS)}. Received: needs={instance.needs!r}")
    if not all(isinstance(o, Option) for o in instance.options):
        raise ValueError(f"Metric.options is a tuple of Option. Received: options={instance.options!r}")
    _REGISTRY[instance.name] = instance
    _ALIASES.update({alias: instance.name for alias in instance.aliases})
    return metric


def unregister_metric(name):
    """Removes a registered metric (by name or alias) and its aliases.

    Raises:
        ValueError: no such metric.
    """
    metric = get_metric(name)
    del _REGISTRY[metric.name]
    for alias in metric.aliases:
        _ALIASES.pop(alias, None)


def get_metric(name):
    """The registered `Metric` called `name` (a name or alias; case and spaces ignored).

    Raises:
        ValueError: listing the registered names and aliases.
    """
    key = _key(name)
    metric = _REGISTRY.get(_ALIASES.get(key, key))
    if metric is None:
        raise ValueError(
            f"Unknown metric; expected some of {list(_REGISTRY)} or the aliases "
            f"{sorted(_ALIASES)}. Received: {name!r}"
        )
    return metric


def available_metrics():
    """The registered metrics' names, in registration order (the built-ins first)."""
    return tuple(_REGISTRY)


def metric_aliases():
    """``{alias: name}`` of the registered metrics."""
    return dict(_ALIASES)


def describe_metrics():
    """A plain-text reference of the registered metrics: aliases, options, summary keys.

    Returns:
        str, one paragraph per metric.
    """
    blocks = []
    for metric in _REGISTRY.values():
        lines = [metric.name + (f" ({', '.join(metric.aliases)})" if metric.aliases else "")
                 + (" [conditional GANs]" if metric.conditional_only else "")]
        description = metric.description or (type(metric).__doc__ or "").strip().split("\n")[0]
        if description:
            lines.append(f"  {description}")
        lines += [f"  option {o.name}={o.default!r}: {o.doc}" for o in metric.options]
        lines.append(f"  summary: {', '.join(metric.summary.values()) or '-'}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
