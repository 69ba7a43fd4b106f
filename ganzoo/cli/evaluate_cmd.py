"""`ganzoo evaluate SOURCE`: FID, KID, IS, precision/recall, mode coverage, reconstruction."""

import json
import pathlib

from ganzoo.cli import _args


def _metrics_flag(p):
    """``--metrics``, listing every registered metric name and alias (`ganzoo.metrics.registry`)."""
    from ganzoo.metrics.evaluate import DEFAULT_METRICS
    from ganzoo.metrics.registry import available_metrics, metric_aliases

    aliases = ", ".join(f"{alias}={name}" for alias, name in sorted(metric_aliases().items()))
    p.add_argument("--metrics", default=",".join(DEFAULT_METRICS),
                   help=f"comma-separated: {', '.join(available_metrics())} (aliases: {aliases}; "
                   f"default: {','.join(DEFAULT_METRICS)})")


def _recon_default(option):
    """The reconstruction metric's default for `option`, from its registered `Option`."""
    from ganzoo.metrics.registry import get_metric

    return get_metric("reconstruction").resolve_options({})[option]


def add_parser(sub):
    p = sub.add_parser(
        "evaluate",
        help="compute metrics of a GAN against real data (protocol recorded)",
        description=(
            "Evaluate a GAN: its samples gan.generate(N, seed) against the reference split of "
            "the data. 28x28x1 models use the offline MNIST classifier as feature extractor, "
            "models evaluated on twemoji the offline Twemoji group classifier; others use "
            "InceptionV3 (downloads ImageNet weights once)."
        ),
    )
    p.add_argument("source", help="run directory, .keras file or zoo entry name")
    p.add_argument(
        "--data", default=None,
        help="reference data (a ganzoo.data source; default: the data the model was trained on, "
        "from its run.json, model card or recipe; mnist_5k for a lone .keras file)",
    )
    _metrics_flag(p)
    p.add_argument("--num-samples", type=_args.positive_int, default=5000, help="generated images")
    p.add_argument("--split", default="train", help="reference split (default: train)")
    p.add_argument("--resize", action="store_true", help="upscale images smaller than the model's")
    p.add_argument("--skip-corrupt", action="store_true", help="skip unreadable images with a warning")
    p.add_argument(
        "--heldout-split",
        default="test",
        help="real images for the reconstruction error (default: test)",
    )
    p.add_argument(
        "--extractor", default="auto",
        help="auto, mnist_5k_classifier, twemoji_classifier or inception_v3 (default: auto)"
    )
    from ganzoo.metrics.evaluate import LABEL_DISTRIBUTIONS

    p.add_argument(
        "--label-distribution", choices=LABEL_DISTRIBUTIONS, default="auto",
        help="a conditional model's sample labels: data (the reference split's class proportions), "
        "balanced (arange(N) %% num_classes) or auto (data when the reference is labelled; default)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--batch-size", type=_args.positive_int, default=None,
        help="images per call (default: 250 for the MNIST classifier, 32 for InceptionV3)",
    )
    p.add_argument(
        "--recon-images", type=_args.positive_int, default=_recon_default("num_images"),
        help="held-out images to reconstruct",
    )
    p.add_argument("--recon-steps", type=_args.positive_int, default=_recon_default("steps"),
                   help="Adam steps per image")
    p.add_argument("--out", default=None, help="write the full JSON report here (e.g. eval.json)")
    p.add_argument("--pretrained", action="store_true", help="for a zoo name: the shipped weights")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args):
    from ganzoo import data as data_lib
    from ganzoo import metrics as metrics_lib
    from ganzoo import runs
    from ganzoo.metrics.kernel_distance import KID_UNIT

    # Fail on a typo, a missing model or unreadable data before loading anything.
    names = metrics_lib.resolve_metrics(args.metrics)
    runs.check_source(args.source)
    if args.data is None:
        args.data = runs.source_data(args.source, args.pretrained) or "mnist_5k"
    data_lib.describe(args.data, split=args.split)
    _args.check_untrained("evaluate", args.source, args.pretrained)
    gan = runs.load_gan(args.source, pretrained=args.pretrained)
    options = {}
    if "reconstruction" in names:
        options["reconstruction"] = {"num_images": args.recon_images, "steps": args.recon_steps}
    report = metrics_lib.evaluate(
        gan,
        data=args.data,
        metrics=names,
        num_samples=args.num_samples,
        extractor=args.extractor,
        split=args.split,
        heldout_split=args.heldout_split,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=not args.no_progress,
        options=options,
        data_options={"resize": args.resize, "skip_corrupt": args.skip_corrupt},
        label_distribution=args.label_distribution,
    )
    report["source"] = str(args.source)
    protocol = report["protocol"]
    print(
        f"{args.source}: {protocol['num_generated']} samples (seed {protocol['seed']}) vs "
        f"{protocol['reference']}:{protocol['split']} ({protocol['num_reference']} images), "
        f"extractor {protocol['extractor']}"
    )
    units = {"kid": KID_UNIT, "kid_std": KID_UNIT}  # a unit that is not obvious is printed
    for key, value in report["summary"].items():
        print(f"  {key:<20} {value:.6g}" + (f"  ({units[key]})" if key in units else ""))
    if args.out:
        path = pathlib.Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"Wrote {path}")
    return 0
