"""Keras callbacks for GAN training runs."""

import json
import os
import pathlib
import shutil
import signal
import time
import zipfile

import keras
import numpy as np
import tensorflow as tf

from ganzoo import images as images_lib
from ganzoo import runs


class SampleGrid(keras.callbacks.Callback):
    """Writes a grid of samples from a fixed latent seed after every epoch.

    The same ``seed`` every epoch makes the grids comparable across epochs.
    Writes ``<out_dir>/epoch_NNN.png`` and, if ``log_dir`` is given, a
    TensorBoard image summary.

    Args:
        out_dir: directory of the PNG files.
        num: images per grid.
        seed: latent seed (see `ganzoo.GAN.generate`).
        log_dir: optional TensorBoard log directory.
    """

    def __init__(self, out_dir, num=64, seed=0, log_dir=None):
        super().__init__()
        self.out_dir = pathlib.Path(out_dir)
        self.num = num
        self.seed = seed
        self.log_dir = log_dir
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        grid = images_lib.grid(self.model.generate(self.num, seed=self.seed))
        images_lib.save_png(grid, self.out_dir / f"epoch_{epoch + 1:03d}.png")
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(str(self.log_dir))
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch + 1)
            self._writer.flush()


class MetricsLog(keras.callbacks.Callback):
    """Appends one JSON line per finished epoch to a ``metrics.jsonl`` file.

    Each line holds ``epoch`` (1-based), the epoch's logs and ``seconds`` of
    wall time. Lines of epochs at or after the current one (left by a run that
    was killed and resumed) are replaced, so every epoch appears once.
    """

    def __init__(self, path):
        super().__init__()
        self.path = pathlib.Path(path)
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": epoch + 1}
        record.update({k: float(np.asarray(v)) for k, v in (logs or {}).items()})
        record["seconds"] = round(time.time() - (self._start or time.time()), 3)
        kept = []
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip() and json.loads(line).get("epoch", 0) < epoch + 1:
                    kept.append(line)
        kept.append(json.dumps(record))
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("\n".join(kept) + "\n")
        tmp.replace(self.path)


class StopAtStep(keras.callbacks.Callback):
    """Stops `fit` once the generator has taken `steps` steps in all.

    Counts the GAN's own ``g_optimizer.iterations`` (restored on resume), so a
    run asked for N generator steps ends at exactly N even when N is not a
    multiple of the steps per epoch, and a resumed run ends there too. The
    epoch it stops in still ends normally (logs, checkpoint, backup).

    Args:
        steps: positive int, the total number of generator steps.
    """

    def __init__(self, steps):
        super().__init__()
        self.steps = int(steps)

    def _done(self):
        return int(keras.ops.convert_to_numpy(self.model.g_optimizer.iterations)) >= self.steps

    def on_train_begin(self, logs=None):
        self.model.stop_training = self._done()

    def on_train_batch_end(self, batch, logs=None):
        if self._done():
            self.model.stop_training = True


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the whole GAN (weights, optimizers, config) to a ``.keras`` file
    after every epoch, through a temporary file and a rename."""

    def __init__(self, path):
        super().__init__()
        self.path = pathlib.Path(path)

    def on_epoch_end(self, epoch, logs=None):
        runs.save_atomic(self.model, self.path)


KILL_ENV = "GANZOO_KILL_AT"


def _kill_point(where, epoch):
    """SIGKILLs this process if ``$GANZOO_KILL_AT`` is ``"<where>:<epoch>"``.

    A fault-injection hook for tests of resumption: ``GANZOO_KILL_AT=backup:3``
    kills a run in the middle of its third epoch's backup (files written, the
    ``current`` pointer not yet replaced), as a power cut or an OOM killer
    would. Unset (the default), it does nothing.
    """
    if os.environ.get(KILL_ENV) == f"{where}:{epoch}":
        os.kill(os.getpid(), signal.SIGKILL)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose backup survives a kill at any moment.

    Keras writes its weights file and its epoch record in place, so a SIGKILL
    during the write leaves a corrupt or mismatched backup and the rerun
    crashes. Here every backup goes to a fresh ``epoch_NNNNN/`` folder, and a
    small ``current`` file, replaced atomically, names the last complete one.

    Args:
        backup_dir: the backup folder (deleted when training finishes).
    """

    POINTER = "current"
    METADATA = "training_metadata.json"

    @classmethod
    def _last_backup(cls, backup_dir):
        """The name of the last complete backup's folder in `backup_dir`, or None."""
        pointer = os.path.join(backup_dir, cls.POINTER)
        if not os.path.exists(pointer):
            return None
        with open(pointer) as f:
            return f.read().strip()

    @classmethod
    def completed_epochs(cls, backup_dir):
        """Epochs recorded by the last complete backup in `backup_dir` (0 if none).

        A resumed `fit` starts at this epoch; reading it before `fit` lets the
        data pipeline start where the interrupted run stopped.
        """
        folder = cls._last_backup(backup_dir)
        if folder is None:
            return 0
        with open(os.path.join(backup_dir, folder, cls.METADATA)) as f:
            return int(json.load(f)["epoch"])

    @classmethod
    def start_from(cls, backup_dir, model_file, epoch):
        """Makes a saved model the last complete backup, as if `epoch` epochs had run.

        What ``ganzoo train --extend`` uses to continue a finished run: the
        ``.keras`` file's weights (network, optimizer, EMA and random-number
        state) become ``latest.weights.h5`` of a backup folder for `epoch`, so
        the next `fit` resumes there exactly as from any other backup.

        Args:
            backup_dir: the run's backup folder (created if missing).
            model_file: a ``.keras`` file written by ``model.save`` (a zip with
                ``model.weights.h5``, the file `save_weights` writes).
            epoch: completed epochs the backup records (>= 1).

        Raises:
            ValueError: `model_file` is not a readable ``.keras`` archive.
        """
        try:
            with zipfile.ZipFile(model_file) as archive:
                weights = archive.read("model.weights.h5")
        except (zipfile.BadZipFile, KeyError, OSError) as e:
            raise ValueError(
                f"Cannot continue from a damaged or incomplete model file ({e}). "
                f"Received: model_file={str(model_file)!r}"
            ) from None
        folder = cls._folder(epoch, 0)
        path = os.path.join(backup_dir, folder)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "latest.weights.h5"), "wb") as f:
            f.write(weights)
        with open(os.path.join(path, cls.METADATA), "w") as f:
            json.dump({"epoch": int(epoch), "batch": 0}, f)
        cls._point_to(backup_dir, folder)

    @staticmethod
    def _folder(epoch, batch):
        return f"epoch_{int(epoch):05d}_{int(batch):06d}"

    @classmethod
    def _point_to(cls, backup_dir, folder):
        """Names `folder` the last complete backup: one atomic replace of the pointer file."""
        pointer = os.path.join(backup_dir, cls.POINTER)
        with open(pointer + ".tmp", "w") as f:
            f.write(folder)
        os.replace(pointer + ".tmp", pointer)

    def _use(self, folder):
        path = os.path.join(self.backup_dir, folder)
        self._weights_path = os.path.join(path, "latest.weights.h5")
        self._training_metadata_path = os.path.join(path, self.METADATA)
        return path

    def on_train_begin(self, logs=None):
        folder = self._last_backup(self.backup_dir)
        if folder is not None:
            self._use(folder)
            self._load_model()

    def _save_model(self):
        folder = self._folder(self._current_epoch, self._last_batch_seen)
        os.makedirs(self._use(folder), exist_ok=True)
        super()._save_model()
        # The worst moment for a kill: the new backup is written, the pointer still names the old.
        _kill_point("backup", self._current_epoch)
        self._point_to(self.backup_dir, folder)
        for old in os.listdir(self.backup_dir):
            if old.startswith("epoch_") and old != folder:
                shutil.rmtree(os.path.join(self.backup_dir, old), ignore_errors=True)
