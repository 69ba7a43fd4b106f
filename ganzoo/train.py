"""A resumable training run: zoo entry + data + callbacks, all under one directory.

`train_run` is what ``ganzoo train`` calls. Killing it (even with SIGKILL) and
running the same command again continues from the last completed epoch with
the same optimizer state, through `keras.callbacks.BackupAndRestore`. With
``extend=True`` (``ganzoo train --extend``) a larger ``steps`` continues a
finished run from its final state, as if it had been started that long.
"""

import functools
import json
import math
import pathlib
import time

import keras

from ganzoo import callbacks as callbacks_lib
from ganzoo import registry
from ganzoo import runs
from ganzoo.validation import check_int


# The keyword option (and `ganzoo train` flag) behind each field `_overrides_for` sets.
_OPTION_OF = {"batch_size": "batch_size (--batch-size)", "latent_dim": "latent_dim (--latent-dim)",
              "d_steps": "d_steps (--d-steps)", "ema_decay": "ema_decay (--ema)",
              "learning_rate": "lr (--lr)", "schedule": "lr_schedule (--lr-schedule)"}


def _merge_options(overrides, from_options):
    """`overrides` with the fields of the keyword options added; a field given twice must agree.

    A linear schedule's ``decay_steps`` (derived from the run's length) yields to one
    the overrides give.

    Raises:
        ValueError: an option and `recipe_overrides` (``--set``/``--unset``) give one field
            different values.
    """
    def conflict(field, option, ours, theirs):
        return ValueError(
            f"{_OPTION_OF[option]} and recipe_overrides (--set/--unset) both give '{field}' and "
            f"disagree; pass it once. Received: {option}={ours!r}, {field}={theirs!r}"
        )

    for key, value in from_options.items():
        given = overrides.get(key)
        if isinstance(value, dict):  # an optimizer table
            if key in overrides and not isinstance(given, dict):  # --unset or a non-table --set
                sub = next(iter(value))
                raise conflict(key, sub, value[sub], given)
            for sub, ours in value.items():
                if sub in (given or {}) and given[sub] != ours and sub != "decay_steps":
                    raise conflict(f"{key}.{sub}", sub, ours, given[sub])
            value = {**value, **(given or {})}
        elif key in overrides and given != value:
            raise conflict(key, key, value, given)
        overrides[key] = value
    return overrides


def _overrides_for(recipe, batch_size=None, latent_dim=None, lr=None, lr_schedule=None,
                   d_steps=None, ema_decay=None, total_steps=None):
    """Recipe overrides from command-line style options (None = keep)."""
    overrides = {}
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    if latent_dim is not None:
        overrides["latent_dim"] = latent_dim
    if d_steps is not None:
        overrides["d_steps"] = d_steps
    if ema_decay is not None:
        overrides["ema_decay"] = float(ema_decay)
    for key in ("d_optimizer", "g_optimizer"):
        table = {}
        if lr is not None:
            table["learning_rate"] = float(lr)
        if lr_schedule is not None:
            table["schedule"] = lr_schedule
            if lr_schedule == "linear":
                table["decay_steps"] = int(total_steps or recipe.train_steps)
            elif "decay_steps" in recipe.fields[key]:
                table["decay_steps"] = None  # the recipe's linear length, removed with its schedule
        if table:
            overrides[key] = table
    return overrides


def _effective(settings):
    """A run's settings with its overrides replaced by the recipe fields they give.

    Overrides the recipe no longer accepts are compared as written.
    """
    try:
        recipe = registry.get_recipe(settings.get("model")).with_overrides(**settings.get("overrides") or {})
        fields = json.loads(json.dumps(recipe.fields))  # tuples as lists, as in run.json
    except (ValueError, TypeError):
        fields = {"overrides": settings.get("overrides")}
    return {k: v for k, v in settings.items() if k != "overrides"}, fields


def _differences(previous, settings):
    """What differs between the settings of two runs, as ``{name: (previous, now)}``.

    The recipe fields are compared as they take effect (recipe + overrides),
    so ``--batch-size 64`` on a recipe of batch 64 is no difference; a table's
    keys are named ``table.key``.
    """
    (old, old_fields), (new, new_fields) = _effective(previous), _effective(settings)
    differing = {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
    if "model" in differing:
        return differing
    for field in sorted(set(old_fields) | set(new_fields)):
        a, b = old_fields.get(field), new_fields.get(field)
        if isinstance(a, dict) and isinstance(b, dict):
            differing.update({f"{field}.{k}": (a.get(k), b.get(k)) for k in sorted(set(a) | set(b))
                              if a.get(k) != b.get(k)})
        elif a != b:
            differing[field] = (a, b)
    return differing


def _extension_of(previous, settings, out, differing):
    """The finished run's steps, if `settings` may extend the run `previous` in `out`."""
    if not isinstance(previous.get("steps"), int) or not isinstance(settings["steps"], int):
        raise ValueError(
            f"--extend continues a run counted in --steps to more --steps. Received: steps "
            f"{previous.get('steps')} -> {settings['steps']} for the run in {str(out)!r}"
        )
    differing = sorted(differing)
    if differing != ["steps"]:
        others = [k for k in differing if k != "steps"]
        why = ""
        if all(k.endswith(".decay_steps") for k in others):
            why = (" A linear learning-rate schedule decays to 0 over the run's --steps, so a longer run "
                   "has another schedule from its first step on and cannot continue this one: start a "
                   "new run with the longer --steps.")
        raise FileExistsError(
            f"--extend changes only --steps of the run in {str(out)!r}; these settings differ too: "
            f"{others} (the run: {previous}).{why} Received: {settings}"
        )
    if settings["steps"] <= previous["steps"]:
        raise ValueError(
            f"--extend needs more steps than the finished run's {previous['steps']}. "
            f"Received: steps={settings['steps']}"
        )
    if not (out / runs.FINAL).exists():
        raise ValueError(
            f"The run in {str(out)!r} is not finished (no {runs.FINAL}): run its own command to "
            f"resume it, then extend it. Received: steps={settings['steps']}"
        )
    return previous["steps"]


def _check_extension(finished, steps, steps_per_epoch, checkpoint_every):
    """Refuses an extension from `finished` to `steps` that cannot resume, or that
    would end mid-epoch (a run that could never be extended again)."""
    received = f"Received: --steps {steps}, --checkpoint-every {checkpoint_every}"
    if finished % steps_per_epoch:
        raise ValueError(
            f"The finished run's {finished} steps are not a whole number of epochs of "
            f"{steps_per_epoch} steps, where the extension would resume. {received}"
        )
    if steps % steps_per_epoch:
        first = (finished // steps_per_epoch + 1) * steps_per_epoch
        raise ValueError(
            f"--extend to {steps} steps would end inside an epoch of {steps_per_epoch} steps, "
            f"and a run that ends there can never be extended again; give --steps a multiple of "
            f"{steps_per_epoch} above {finished}, e.g. {first} or {first + steps_per_epoch}. {received}"
        )


def train_run(
    name,
    out,
    data=None,
    epochs=None,
    steps=None,
    seed=0,
    jit_compile="auto",
    resize=False,
    skip_corrupt=False,
    data_dir=None,
    download=True,
    num_samples=64,
    verbose="auto",
    strategy="default",
    precision="float32",
    eval_every=None,
    checkpoint_every=None,
    eval_metrics=("fid", "kid"),
    eval_samples=1000,
    recipe_overrides=None,
    extend=False,
    pretrained=False,
    init_from=None,
    **options,
):
    """Trains zoo entry `name`, writing everything under `out`.

    Args:
        name: a zoo entry (see `ganzoo.list_models()`).
        out: the run directory (created; see `ganzoo.runs` for its layout).
        data: a source for `ganzoo.data.load` (default: the recipe's dataset).
        epochs: passes over the data. Default (neither `epochs` nor `steps`):
            the recipe's ``train_steps`` generator steps.
        steps: total generator steps instead of epochs: the run (and a resumed
            one) ends at exactly this many generator steps.
        seed: seeds weights, the model's random numbers and data shuffling.
        jit_compile: passed to `GAN.compile`.
        resize, skip_corrupt, data_dir, download: passed to `ganzoo.data.load`.
        num_samples: images in each epoch's sample grid.
        verbose: Keras progress-bar mode.
        strategy: a `tf.distribute.Strategy` or a name for
            `ganzoo.distribute.get_strategy` (``mirrored``, ``multi_worker``,
            ``tpu[:ADDRESS]``, ...). Batch sizes stay global.
        precision: ``float32``, ``mixed_float16`` or ``mixed_bfloat16``.
        eval_every: evaluate every N epochs (`ganzoo.metrics.EvaluationCallback`
            on the training data, read with the same `resize`, `skip_corrupt`,
            `data_dir` and `download`); the ``eval_*`` results land in that
            epoch's line of ``metrics.jsonl``.
        checkpoint_every: with `steps`, end a Keras epoch (checkpoint, backup,
            sample grid, log line) every this many generator steps instead of
            once per pass over the data; a SIGKILL then loses at most this
            many steps. Default: one pass over the data.
        eval_metrics, eval_samples: what to measure, on how many samples.
        recipe_overrides: any recipe fields to replace (tables merged), as
            in `ganzoo.create_model`.
        pretrained: start from the entry's shipped weights in
            ``saved_models/<name>/`` (fine-tuning) instead of random ones.
        init_from: start from the weights of a ``.keras`` file, a run
            directory or a pretrained folder whose networks are the run's.
            With either, the training options are the recipe's with the
            overrides; ``run.json`` records the source (``init_from``), which
            a resumed run reads again; the EMA schedule continues after the
            source's generator steps, the optimizers start afresh.
        extend: continue a finished `steps` run in `out` to a larger `steps`
            (every other setting as before): it resumes from the run's final
            state (weights, optimizers, EMA, random-number state) with the
            data stream where the finished run left it, as an uninterrupted
            run of `steps` steps would. A killed extension resumes like any run.
        **options: ``batch_size``, ``latent_dim``, ``lr``, ``lr_schedule``,
            ``d_steps``, ``ema_decay`` overrides of the recipe; a field that
            `recipe_overrides` also gives must have the same value there.

    Returns:
        The trained `ganzoo.GAN`.

    Raises:
        FileExistsError: `out` holds something else than this run (with
            `extend`: a run whose settings differ in more than ``steps``).
        ValueError: a bad setting, or an option and `recipe_overrides` giving
            one field different values; with `extend`, nothing finished to extend,
            a `steps` not above the finished run's, or a finished or extended
            length that is not a whole number of ``checkpoint_every`` epochs.
    """
    from ganzoo import data as data_lib
    from ganzoo import distribute

    if isinstance(strategy, str):
        strategy = distribute.get_strategy(strategy)  # before any other TF op
    distribute.set_precision(precision)

    if epochs is not None and steps is not None:
        raise ValueError("Give epochs or steps (--epochs or --steps), not both. "
                         f"Received: epochs={epochs}, steps={steps}")
    if checkpoint_every is not None and steps is None:
        raise ValueError(
            "checkpoint_every (--checkpoint-every) counts generator steps and needs a run length "
            f"in steps (--steps). Received: checkpoint_every={checkpoint_every!r}, steps=None"
        )
    for key, value in (("epochs", epochs), ("steps", steps), ("checkpoint_every", checkpoint_every)):
        if value is not None:
            check_int(value, key, quote=False, numpy=False)
    if pretrained and init_from is not None:
        raise ValueError(
            "Start from the shipped weights (pretrained) or from init_from, not both. "
            f"Received: pretrained=True, init_from={str(init_from)!r}"
        )
    recipe = registry.get_recipe(name)
    overrides = dict(recipe_overrides or {})
    if options.get("lr_schedule") == "linear" and epochs is not None and not all(
            "decay_steps" in (overrides.get(t) or {}) for t in ("d_optimizer", "g_optimizer")):
        raise ValueError(
            "lr_schedule='linear' (--lr-schedule linear) decays to 0 over the run's length in generator "
            "steps, which epochs (--epochs) leaves unknown until the data is read: give the length "
            "as steps (--steps), or decay_steps in both optimizer tables (--set "
            f"d_optimizer.decay_steps=N --set g_optimizer.decay_steps=N). Received: epochs={epochs}"
        )
    # the run's length: --steps, else the train_steps it runs (the recipe's, or an override's)
    length = steps if steps is not None else overrides.get("train_steps")
    length = length if isinstance(length, int) and not isinstance(length, bool) else None  # else refused later
    overrides = _merge_options(overrides, _overrides_for(recipe, total_steps=length, **options))
    if overrides:
        recipe = recipe.with_overrides(**overrides)
    if epochs is None and steps is None:
        steps = recipe.train_steps  # the published schedule, whatever the data's size
    source = data or recipe.dataset
    out = pathlib.Path(out).expanduser()
    replicas = strategy.num_replicas_in_sync
    if recipe.batch_size % replicas:
        raise ValueError(
            f"The global batch of {recipe.batch_size} images per discriminator step must divide "
            f"evenly over {replicas} replicas (batch_size, --batch-size). "
            f"Received: batch_size={recipe.batch_size}, "
            f"replicas={replicas}"
        )

    settings = {
        "model": name,
        "overrides": overrides,
        "data": str(source),
        "epochs": epochs,
        "steps": steps,
        "seed": seed,
        "precision": precision,
        "eval_every": eval_every,
    }
    if checkpoint_every is not None:
        settings["checkpoint_every"] = checkpoint_every
    # They change the images trained on; recorded only when on, so older runs compare equal.
    for key, value in (("resize", resize), ("skip_corrupt", skip_corrupt)):
        if value:
            settings[key] = True
    source_gan = None
    if pretrained or init_from is not None:
        source_gan, settings["init_from"] = runs.load_init_source(init_from, name if pretrained else None)
    run_file = out / runs.RUN_FILE
    if out.exists() and not out.is_dir():
        raise FileExistsError(
            f"The output must be a run directory, but a file of that name exists; choose "
            f"another --out. Received: out={str(out)!r}"
        )
    if extend and distribute.task_id()[0] is not None:
        raise ValueError(
            "--extend runs in a single process (it rewrites the run's files before training); "
            f"extend on one machine, then train on. Received: TF_CONFIG task {distribute.task_id()}"
        )
    backup = out / "backup"  # the chief's; other workers' below
    extending_from = None  # steps of the finished run an extension continues
    if run_file.exists():
        previous = json.loads(run_file.read_text())
        differing = _differences(previous, settings)
        if extend and differing:
            extending_from = _extension_of(previous, settings, out, differing)
        elif differing:
            changes = "; ".join(f"{k}: {a!r} in the run, {b!r} now" for k, (a, b) in differing.items())
            raise FileExistsError(
                f"The output directory holds a different run ({changes}); choose another --out "
                f"or delete it. Received: out={str(out)!r} with settings {settings}"
            )
        # A finished run has no backup (deleted when fit ends); an extension's
        # seeded backup beside the old final model means: not finished yet.
        elif (out / runs.FINAL).exists() and callbacks_lib.AtomicBackupAndRestore.completed_epochs(backup) == 0:
            print(f"Run in {out} is already complete; nothing to do.")
            return keras.models.load_model(out / runs.FINAL)
    elif extend:
        raise ValueError(
            f"--extend continues a finished run, but the output directory holds none. "
            f"Received: out={str(out)!r}"
        )
    elif out.exists() and any(out.iterdir()):
        raise FileExistsError(
            "The output directory is not empty and holds no ganzoo run. "
            f"Received: out={str(out)!r}"
        )

    # Only the chief writes the run's outputs; other workers write theirs to a
    # scratch folder. Every worker keeps its own backup so that any can resume.
    chief = distribute.is_chief()
    outputs = out if chief else out / ".workers" / f"{'_'.join(map(str, distribute.task_id()))}"
    backup = backup if chief else outputs / "backup"

    # Before the data: tf.data's seeded shuffles combine the op seed with the
    # global seed, so the order must not depend on what ran earlier in the process.
    keras.utils.set_random_seed(seed)
    h, w, c = recipe.image_shape
    load = functools.partial(
        data_lib.load,
        source,
        batch_size=recipe.batch_size,
        d_steps=recipe.d_steps,
        image_size=(h, w),
        channels=c,
        labels=bool(recipe.num_classes),
        num_classes=recipe.num_classes,
        seed=seed,
        resize=resize,
        skip_corrupt=skip_corrupt,
        data_dir=data_dir,
        download=download,
    )
    dataset, info = load(with_info=True)
    per_epoch = int(dataset.cardinality())
    if per_epoch <= 0 and (steps is not None or info.num_examples is not None):
        raise ValueError(f"The data yields no full batch. Received: data={source!r}")
    steps_per_epoch = None
    if steps is not None:
        steps_per_epoch = min(steps, checkpoint_every or per_epoch)
        epochs = math.ceil(steps / steps_per_epoch)
    elif per_epoch > 0:
        steps_per_epoch = per_epoch
    if steps_per_epoch is not None:
        # One endless stream whose epoch e is ordered by (seed, e): a resumed run
        # starts it at the batch where the interrupted run's last backup was made,
        # so it reads what an uninterrupted run reads (in-memory sources; streamed
        # sources restart their seeded shuffle sequence).
        if extending_from is not None:
            _check_extension(extending_from, steps, steps_per_epoch, checkpoint_every)
            callbacks_lib.AtomicBackupAndRestore.start_from(
                backup, out / runs.FINAL, extending_from // steps_per_epoch)
        start = callbacks_lib.AtomicBackupAndRestore.completed_epochs(backup) * steps_per_epoch
        if info.in_memory:
            dataset = load(repeat=True, start_batch=start)
        else:
            dataset = dataset.repeat()

    # The model and its optimizers before anything is written: a setting refused
    # there leaves no run directory behind.
    with strategy.scope():
        gan = registry.build_from_recipe(recipe, seed=seed)
        if source_gan is not None:
            where = "--pretrained" if pretrained else f"--init-from {str(init_from)!r}"
            runs.start_from(gan, source_gan, settings["init_from"]["generator_steps"], where=where)
        gan.compile(jit_compile=jit_compile)
    evaluation = None
    if eval_every:
        from ganzoo.metrics import EvaluationCallback

        evaluation = EvaluationCallback(
            data=source, metrics=eval_metrics, every_n_epochs=eval_every,
            num_samples=eval_samples, seed=seed,
            data_options={"resize": resize, "skip_corrupt": skip_corrupt, "data_dir": data_dir,
                          "download": download},
        )
        evaluation.evaluator.check(gan)  # the metrics apply, the extractor's weights are there
    out.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps(settings, indent=2) + "\n")
    if extending_from is not None:
        # Last: until now the finished run was intact (a kill before here leaves
        # it as it was, plus a backup that the next --extend rewrites).
        (out / runs.FINAL).unlink()

    # Epoch-end order matters for a kill at any moment: outputs first, the backup
    # last, so a resumed run redoes (and rewrites) any epoch its backup lacks.
    callbacks = []
    if evaluation is not None:
        callbacks.append(evaluation)  # before MetricsLog, so that the eval_* values join the epoch's logs
    if steps is not None:
        callbacks.append(callbacks_lib.StopAtStep(steps))
    callbacks += [
        callbacks_lib.MetricsLog(outputs / "metrics.jsonl"),
        callbacks_lib.SampleGrid(
            outputs / "samples", num=num_samples, seed=seed,
            log_dir=outputs / "tensorboard" / "samples",
        ),
        keras.callbacks.TensorBoard(str(outputs / "tensorboard"), write_graph=False),
        callbacks_lib.AtomicCheckpoint(outputs / runs.CHECKPOINT),
        callbacks_lib.AtomicBackupAndRestore(str(backup)),
    ]
    start = time.time()
    gan.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=callbacks,
            verbose=verbose)
    runs.save_atomic(gan, outputs / runs.FINAL)
    print(f"Trained {name} for {epochs} epoch(s) in {time.time() - start:.1f}s; model: {out / runs.FINAL}")
    return gan
