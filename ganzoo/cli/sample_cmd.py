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
    p.set_defaults(func=run)


def run(args):
    import numpy as np

    from ganzoo import images, runs

    gan = runs.load_gan(args.source, pretrained=args.pretrained)
    samples = gan.generate(args.num, seed=args.seed)
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
