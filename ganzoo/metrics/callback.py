"""`EvaluationCallback`: metrics every N epochs during `fit`."""

import json
import pathlib

import keras

from ganzoo.metrics import _checks
from ganzoo.metrics.evaluate import DEFAULT_METRICS, Evaluator


class EvaluationCallback(keras.callbacks.Callback):
    """Evaluates the GAN being trained every `every_n_epochs` epochs.

    The reference features are computed once (at the first evaluation) and
    reused; the generated samples use the same `seed` every time, so numbers are
    comparable across epochs. Each evaluation:

    * adds its scalar summary to the epoch's ``logs`` with the prefix ``eval_``
      (e.g. ``eval_fid``, ``eval_kid``, ``eval_precision``), so `History`,
      TensorBoard, the progress bar and ganzoo's per-epoch metrics logger see them
      (place this callback before those that read the logs);
    * appends one JSON line to `jsonl_path`, if given:
      ``{"epoch": E, "kind": "evaluation", "summary": {...}, "metrics": {...},
      "protocol": {...}}`` (``epoch`` 1-based, as in ganzoo's ``metrics.jsonl``).
      Evaluation lines of epoch E or later already in the file (from a run that
      was killed and resumed) are replaced, so each evaluation appears once.

    With ganzoo's `MetricsLog` (which rewrites ``metrics.jsonl`` every epoch and
    drops lines of the current epoch), put this callback *before* it and let it
    record the ``eval_*`` scalars, and give this callback its own file (e.g.
    ``eval.jsonl``) for the full protocol.

    Args:
        data: reference data (see `ganzoo.metrics.evaluate`).
        metrics: metric names or aliases.
        every_n_epochs: evaluate after epochs N, 2N, ...
        num_samples: generated images per evaluation (small values are fast but
            biased: FID in particular grows as the sample count shrinks).
        jsonl_path: file to append results to (e.g. the run's ``metrics.jsonl``),
            or None.
        extractor: "auto", an extractor name, or a `FeatureExtractor`.
        split: reference split (default "train").
        num_reference: use only the first N reference images, or None for all.
        seed: seed of the generated samples.
        batch_size: images per generator / extractor call (None: the extractor's).
        options: per-metric options (see `ganzoo.metrics.evaluate`).
        data_options: how `data` is read (``resize``, ``skip_corrupt``,
            ``data_dir``, ``download`` of `ganzoo.data.load`), as for training.
        prefix: prefix of the keys added to ``logs``.
        label_distribution: a conditional GAN's sample labels: "auto", "data"
            or "balanced" (see `ganzoo.metrics.Evaluator`).

    Example:

    ```python
    cb = ganzoo.metrics.EvaluationCallback("mnist_5k", ("fid", "kid"), every_n_epochs=5,
                                           num_samples=2000, jsonl_path="run/metrics.jsonl")
    gan.fit(ds, epochs=25, callbacks=[cb])
    ```
    """

    def __init__(
        self,
        data="mnist_5k",
        metrics=DEFAULT_METRICS,
        every_n_epochs=1,
        num_samples=1000,
        jsonl_path=None,
        extractor="auto",
        split="train",
        num_reference=None,
        seed=0,
        batch_size=None,
        options=None,
        prefix="eval_",
        data_options=None,
        label_distribution="auto",
    ):
        super().__init__()
        self.every_n_epochs = _checks.positive_int("every_n_epochs", every_n_epochs)
        self.num_samples = _checks.positive_int("num_samples", num_samples, minimum=2)
        self.jsonl_path = None if jsonl_path is None else pathlib.Path(jsonl_path)
        self.seed = int(seed)
        self.prefix = str(prefix)
        self.evaluator = Evaluator(
            data=data,
            metrics=metrics,
            extractor=extractor,
            split=split,
            num_reference=num_reference,
            batch_size=batch_size,
            options=options,
            data_options=data_options,
            label_distribution=label_distribution,
        )
        self.last_report = None

    def on_train_begin(self, logs=None):
        # Before the first step, not after the first epoch: metrics that do not apply to
        # this GAN, an extractor that does not fit it, missing extractor weights.
        self.evaluator.check(self.model)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        report = self.evaluator(self.model, num_samples=self.num_samples, seed=self.seed, progress=False)
        self.last_report = report
        if logs is not None:
            logs.update({self.prefix + k: v for k, v in report["summary"].items()})
        if self.jsonl_path is not None:
            record = {
                "epoch": epoch + 1,
                "kind": "evaluation",
                "summary": report["summary"],
                "metrics": report["metrics"],
                "protocol": report["protocol"],
            }
            self._append(record)

    def _append(self, record):
        """Appends `record`, first dropping evaluation lines of this or later epochs
        (left by a run that was killed and resumed), through a temporary file."""
        path = self.jsonl_path
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = []
        if path.exists():
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                try:
                    old = json.loads(line)
                except json.JSONDecodeError:
                    kept.append(line)  # not ours: leave it alone
                    continue
                stale = old.get("kind") == "evaluation" and old.get("epoch", 0) >= record["epoch"]
                if not stale:
                    kept.append(line)
        kept.append(json.dumps(record))
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("\n".join(kept) + "\n")
        tmp.replace(path)
