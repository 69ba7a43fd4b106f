"""Two checks of a pretrained Twemoji entry that the metric reports do not state directly.

1. **Group histogram.** The share of samples the offline group classifier (`twemoji_classifier`)
   assigns to each of the 9 groups, against the share it assigns among the real training images,
   as a total variation distance ``0.5 * sum |p - q|`` (the colour issue's target: <= 0.1). The
   histogram of the true labels is printed beside it. A conditional entry's samples are
   generated for labels in the training split's group proportions, as `ganzoo evaluate` does.
2. **Near-duplicates.** For every image, the distance to its nearest training image, in pixels
   (L2 over the [-1, 1] image) and in the classifier's 128-d features. The threshold of a
   "near-duplicate" is the 5th percentile of that distance among the held-out real images
   (``twemoji:test``), so 5% of held-out images are near-duplicates by construction; a model that
   copies its training set has more than 5% of its samples below it.
3. **Precision by group.** Improved precision (Kynkäänniemi et al. 2019, k = 3, the protocol of
   `ganzoo evaluate`) split by the group the classifier assigns each sample, beside each group's
   median k-NN radius among the training images (true labels): a group whose real images come
   in near-identical variants (People & Body's skin tones) has small balls, so its samples must
   come closer to one training image to count as precise.
4. **Across sample seeds.** FID, precision and the group total variation of ``--num-samples``
   samples against ``twemoji:train`` (the report's protocol) for ``--fid-seeds`` consecutive seeds
   from ``--seed``: the first is the card's number, the spread says how far two models' numbers
   must differ to be told apart, and whether a target met by one seed is met by the others.

``--model`` is a zoo entry's name (its shipped weights) or anything `ganzoo evaluate` reads: a run
directory, a ``.keras`` file, a packaged folder, so a candidate is checked before it is shipped.

    python benchmarks/colour_checks.py --model sngan_twemoji \
        --json benchmarks/results/cpu_2core_sngan_twemoji_colour_checks.json
"""

import argparse
import json
import sys

import numpy as np


def _nearest(queries, train, batch=256):
    """For each row of `queries` (n, d), the L2 distance to its nearest row of `train` (m, d)."""
    train_sq = np.square(train).sum(1)
    out = []
    for start in range(0, len(queries), batch):
        q = queries[start:start + batch]
        d2 = np.square(q).sum(1)[:, None] - 2.0 * q @ train.T + train_sq[None, :]
        out.append(np.sqrt(np.maximum(d2.min(1), 0.0)))
    return np.concatenate(out)


def _by_group(values, groups, num_groups, reduce):
    """Per group g in [0, num_groups): ``reduce`` (e.g. `np.mean`) of `values` over the rows whose
    `groups` is g, None for a group with no row."""
    values, groups = np.asarray(values, np.float64), np.asarray(groups)
    return [float(reduce(values[groups == g])) if (groups == g).any() else None for g in range(num_groups)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="sngan_twemoji",
                        help="a zoo entry trained on twemoji (its shipped weights), a run directory or a .keras file")
    parser.add_argument("--num-samples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--percentile", type=float, default=5.0)
    parser.add_argument("--fid-seeds", type=int, default=3, help="sample seeds for the FID spread (check 4)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import ganzoo
    from ganzoo.metrics import extractors
    from ganzoo.metrics import improved_precision_recall as ipr
    from ganzoo.metrics.frechet import fid
    from ganzoo.metrics.modes import mode_coverage

    from ganzoo import registry, runs

    gan = runs.load_gan(args.model, pretrained=args.model in registry.list_models())
    size = gan.image_shape[:2]
    def arrays(source):
        ds = ganzoo.data.load(source, batch_size=1, image_size=size, labels=True, shuffle=False).unbatch().batch(512)
        xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
        return np.concatenate(xs), np.concatenate(ys)

    train_x, train_y = arrays("twemoji:train")
    test_x, _ = arrays("twemoji:test")
    # A conditional entry is sampled as `ganzoo evaluate` samples it: labels in the class
    # proportions of twemoji:train (`ganzoo.sampling.proportional_labels`), not balanced.
    labels = (None if gan.num_classes is None
              else ganzoo.sampling.proportional_labels(args.num_samples, np.bincount(train_y, minlength=gan.num_classes)))
    samples = gan.generate(args.num_samples, seed=args.seed, labels=labels)
    extractor = extractors.get_extractor("auto", gan.image_shape, data="twemoji")

    def features_and_groups(x):
        parts = [extractor(x[i:i + 500], need_probs=True) for i in range(0, len(x), 500)]
        feats = np.concatenate([np.asarray(f) for f, _ in parts]).astype(np.float64)
        return feats, np.concatenate([np.asarray(p) for _, p in parts]).argmax(1)

    f_train, g_train = features_and_groups(train_x)
    f_test, _ = features_and_groups(test_x)
    f_gen, g_gen = features_and_groups(samples)
    num_groups = len(ganzoo.data.twemoji.GROUPS)  # the 9 Unicode emoji groups
    p_gen = np.bincount(g_gen, minlength=num_groups) / len(g_gen)
    p_pred = np.bincount(g_train, minlength=num_groups) / len(g_train)
    p_label = np.bincount(np.asarray(train_y), minlength=num_groups) / len(train_y)

    def group_tv(groups, reference):
        """Total variation between two label arrays' group histograms, as `ganzoo evaluate` reports it."""
        return mode_coverage(groups, np.asarray(reference), num_classes=num_groups)["tv_sample_data"]

    result = {
        "model": args.model, "num_samples": args.num_samples, "seed": args.seed,
        "groups": {"samples": p_gen.round(4).tolist(), "train_predicted": p_pred.round(4).tolist(),
                   "train_labels": p_label.round(4).tolist(),
                   "tv_vs_train_predicted": group_tv(g_gen, g_train),
                   "tv_vs_train_labels": group_tv(g_gen, train_y)},
        "near_duplicates": {},
    }
    radii = ipr.knn_radii(f_train, ipr.DEFAULT_K)
    inside = ipr.manifold_coverage(f_gen, f_train, radii)
    result["precision_by_group"] = {
        "k": ipr.DEFAULT_K, "precision": float(np.mean(inside)),
        "by_sample_group": _by_group(inside, g_gen, num_groups, np.mean),
        "train_median_radius_by_label": _by_group(radii, train_y, num_groups, np.median),
    }
    def seed_numbers(feats, groups, inside):
        return {"fid": fid(feats, f_train)["fid"], "precision": float(np.mean(inside)),
                "group_tv": group_tv(groups, g_train)}

    by_seed = [seed_numbers(f_gen, g_gen, inside)]
    for seed in range(args.seed + 1, args.seed + args.fid_seeds):
        feats, groups = features_and_groups(gan.generate(args.num_samples, seed=seed, labels=labels))
        by_seed.append(seed_numbers(feats, groups, ipr.manifold_coverage(feats, f_train, radii)))
    fids = [r["fid"] for r in by_seed]
    result["fid_by_seed"] = {"seeds": list(range(args.seed, args.seed + args.fid_seeds)), "fid": fids,
                             "range": float(max(fids) - min(fids)),
                             "precision": [r["precision"] for r in by_seed],
                             "group_tv": [r["group_tv"] for r in by_seed]}
    flat = lambda x: np.asarray(x, np.float64).reshape(len(x), -1)  # noqa: E731
    for space, (tr, te, ge) in {"pixels": (flat(train_x), flat(test_x), flat(samples)),
                                "features": (f_train, f_test, f_gen)}.items():
        d_test, d_gen = _nearest(te, tr), _nearest(ge, tr)
        threshold = float(np.percentile(d_test, args.percentile))
        result["near_duplicates"][space] = {
            "threshold": threshold, "heldout_rate": float((d_test < threshold).mean()),
            "sample_rate": float((d_gen < threshold).mean()),
            "heldout_median": float(np.median(d_test)), "sample_median": float(np.median(d_gen)),
        }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
