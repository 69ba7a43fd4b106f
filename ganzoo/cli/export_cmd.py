"""`ganzoo export SOURCE --out serving/`: a versioned SavedModel for TensorFlow Serving.

Writes ``<out>/<name>/<version>/`` (see `ganzoo.export`); with
``--models-config`` also (or only, without SOURCE) ``<out>/models.config``
listing every model exported under ``<out>``, for one server serving them all.
"""

import pathlib

from ganzoo.cli import _args


def add_parser(sub):
    p = sub.add_parser(
        "export",
        help="export a SavedModel for TensorFlow Serving",
        description="Export a GAN as <out>/<name>/<version>/ for TensorFlow Serving, with "
        "the signatures serving_default (z -> images), generate (num, seed -> images, "
        "images_uint8, png_bytes) and discriminate (images -> logits).",
    )
    p.add_argument(
        "source",
        nargs="?",
        default=None,
        help="run directory, .keras file or zoo entry name (optional with --models-config)",
    )
    p.add_argument("--out", default="serving", help="serving root directory (default: serving)")
    p.add_argument(
        "--name",
        default=None,
        help="served model name (default: the zoo entry, run directory or .keras file name)",
    )
    p.add_argument(
        "--version",
        type=_args.positive_int,
        default=None,
        help="version number (default: the next free one)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace --version if it exists")
    p.add_argument(
        "--max-num",
        type=_args.positive_int,
        default=None,
        help="largest num/batch a request may ask for (default: 1024)",
    )
    p.add_argument("--pretrained", action="store_true", help="for a zoo name: the shipped weights")
    p.add_argument("--allow-untrained", action="store_true",
                   help="export a zoo name without --pretrained anyway (a new model with random weights)")
    p.add_argument(
        "--no-warmup",
        action="store_true",
        help="do not write assets.extra/tf_serving_warmup_requests",
    )
    p.add_argument(
        "--models-config",
        action="store_true",
        help="(re)write <out>/models.config listing every model exported under --out",
    )
    p.add_argument(
        "--config-base-path",
        default=None,
        metavar="PATH",
        help="the --out directory as the model server sees it in models.config, e.g. /models "
        "in a container (default: the absolute path of --out)",
    )
    p.set_defaults(func=run)


def default_name(source):
    """The served model name for a source: zoo entry, run directory or .keras file name."""
    from ganzoo import runs

    path = pathlib.Path(str(source)).expanduser()
    if path.is_dir():
        return path.resolve().name
    if path.suffix == ".keras":
        if path.name in (runs.FINAL, runs.CHECKPOINT):
            return path.resolve().parent.name
        return path.stem
    return str(source)


def run(args):
    from ganzoo import export, runs

    if args.source is None and not args.models_config:
        raise ValueError(
            "Give a SOURCE to export (run directory, .keras file or zoo entry), and/or "
            "--models-config to write <out>/models.config. Received: neither"
        )
    if args.source is None:
        ignored = [
            flag
            for flag, value in (
                ("--name", args.name),
                ("--version", args.version),
                ("--overwrite", args.overwrite),
                ("--max-num", args.max_num),
                ("--pretrained", args.pretrained),
                ("--allow-untrained", args.allow_untrained),
                ("--no-warmup", args.no_warmup),
            )
            if value not in (None, False)
        ]
        if ignored:
            raise ValueError(
                "These options need a SOURCE to export. Received: "
                + ", ".join(ignored)
                + " without SOURCE"
            )
    out = pathlib.Path(args.out)
    if args.source is not None:
        runs.check_source(args.source)  # a missing source is named before the model name
        name = export.check_model_name(args.name or default_name(args.source))
        model_dir = out / name
        # Refuse before loading the model (which can take a while).
        if args.version is not None and not args.overwrite and (model_dir / str(args.version)).exists():
            raise FileExistsError(
                f"Version {args.version} of {name!r} exists; pick another --version, omit it for "
                f"the next free one, or pass --overwrite. Received: {model_dir / str(args.version)}"
            )
        _args.check_untrained("export", args.source, args.pretrained, allow=args.allow_untrained)
        gan = runs.load_gan(args.source, pretrained=args.pretrained)
        path = export.export_saved_model(
            gan,
            model_dir,
            version=args.version,
            overwrite=args.overwrite,
            max_num=args.max_num or export.DEFAULT_MAX_NUM,
            warmup=not args.no_warmup,
        )
        print(
            f"Exported {name!r} version {path.name} to {path} "
            f"(signatures: {', '.join(export.SIGNATURES)})"
        )
    if args.models_config:
        config = export.write_models_config(out, base_path=args.config_base_path)
        names = export.served_models(out)
        print(f"Wrote {config} serving {len(names)} model(s): {', '.join(names)}")
    return 0
