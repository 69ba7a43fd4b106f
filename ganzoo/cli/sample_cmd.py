"""`ganzoo sample SOURCE`: a PNG grid (and optionally PNG files / .npz) of samples."""

import pathlib

from ganzoo.cli import _args


def add_parser(sub):
    p = sub.add_parser("sample", help="write a grid of generated images")
    p.add_argument("source", help="run directory, .keras file or zoo entry name")
    p.add_argument("--num", type=_args.positive_int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="samples.png", help="grid PNG path")
    p.add_argument("--individual", default=None, metavar="DIR", help="also one PNG per image here")
    p.add_argument("--npz", default=None, help="also the float images in [-1, 1] as .npz")
    p.add_argument("--pretrained", action="store_true", help="for a zoo name: the shipped weights")
    p.add_argument("--class", dest="label", type=int, default=None, metavar="K",
                   help="conditional models: every sample of class K (default: classes in turn)")
    p.set_defaults(func=run)


def run(args):
    import numpy as np

    from ganzoo import images, runs

    runs.check_source(args.source)  # a typo is an error, not a warning
    _args.check_untrained("sample", args.source, args.pretrained)
    gan = runs.load_gan(args.source, pretrained=args.pretrained)
    labels = None
    if args.label is not None:
        if gan.num_classes is None:
            raise ValueError(
                f"--class needs a class-conditional model; {args.source} is unconditional. "
                f"Received: --class {args.label}"
            )
        if not 0 <= args.label < gan.num_classes:
            raise ValueError(
                f"--class must be in [0, {gan.num_classes}). Received: --class {args.label}"
            )
        labels = args.label  # one class for every image (`ganzoo.sampling.resolve_labels`)
    samples = gan.generate(args.num, seed=args.seed, labels=labels)
    path = images.save_png(images.grid(samples), args.out)
    print(f"Wrote {args.num} samples to {path}")
    if args.individual:
        folder = pathlib.Path(args.individual)
        for i, tile in enumerate(images.to_uint8(samples)):
            images.save_png(tile, folder / f"{i:05d}.png")
        print(f"Wrote {args.num} PNG files to {folder}")
    if args.npz:
        np.savez_compressed(args.npz, images=samples)
        print(f"Wrote {args.npz}")
    return 0
