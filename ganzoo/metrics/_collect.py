"""What `Evaluator` collects from batches of images: features with streaming FID statistics,
class probabilities, and the progress bar over them."""

import keras
import numpy as np

from ganzoo.metrics.frechet import FeatureStats


def progbar(target, title, enabled):
    """A `keras.utils.Progbar` over `target` samples after printing `title`, or None if not `enabled`."""
    if not enabled:
        return None
    print(title)
    return keras.utils.Progbar(target, unit_name="sample")


class Collected:
    """Features (with streaming FID statistics) and class probabilities of image batches.

    Args:
        extractor: a `FeatureExtractor`, called as ``extractor(images, probs, known_scale=True)``.
        need_feats: keep features ``(N, D)`` and their `FeatureStats`.
        need_probs: keep class probabilities ``(N, K)``.
    """

    def __init__(self, extractor, need_feats, need_probs):
        self.extractor, self.need_feats, self.need_probs = extractor, need_feats, need_probs
        self.stats = FeatureStats() if need_feats else None
        self._feats, self._probs = [], []

    def add(self, images):
        """Extracts a batch of images already checked to be on the [-1, 1] scale."""
        f, p = self.extractor(images, self.need_probs, known_scale=True)
        if self.need_feats:
            self._feats.append(f)
            self.stats.update(f)
        if self.need_probs:
            self._probs.append(p)

    def features(self):
        return np.concatenate(self._feats) if self.need_feats else None

    def probabilities(self):
        return np.concatenate(self._probs) if self.need_probs else None
