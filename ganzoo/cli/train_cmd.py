"""`ganzoo train NAME`: train a zoo entry on any image source, resumably."""

from ganzoo.cli import _args


def add_parser(sub):
    p = sub.add_parser(
        "train",
        help="train a zoo entry",
        description="Train a zoo entry. Rerunning the same command resumes a killed run "
        "from its last completed epoch; with --extend and a larger --steps it continues a finished one.",
    )
    p.add_argument("name", help="zoo entry (see `ganzoo list`)")
    p.add_argument("--out", required=True, help="run directory (checkpoints, samples, logs)")
    p.add_argument("--data", default=None,
                   help="mnist_5k | tfds:NAME[:SPLIT] | image folder | .npz/.npy (default: the recipe's)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_args.positive_int, default=None)
    length.add_argument("--steps", type=_args.positive_int, default=None, help="generator steps")
    p.add_argument("--checkpoint-every", type=_args.positive_int, default=None, metavar="STEPS",
                   help="with --steps: checkpoint, back up and log every STEPS generator steps "
                   "instead of once per pass over the data")
    p.add_argument("--extend", action="store_true",
                   help="continue the finished run in --out to a larger --steps (every other option "
                   "as before), as if it had been started with them")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--pretrained", action="store_true",
                       help="fine-tune: start from the entry's shipped weights (saved_models/NAME)")
    start.add_argument("--init-from", default=None, metavar="PATH",
                       help="start from these weights: a .keras file, a run directory or a pretrained "
                       "folder with the run's networks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=_args.positive_int, default=None,
                   help="real images per discriminator step")
    p.add_argument("--latent-dim", type=_args.positive_int, default=None)
    p.add_argument("--d-steps", type=_args.positive_int, default=None)
    p.add_argument("--lr", type=_args.positive_float, default=None, help="learning rate of both players")
    p.add_argument("--lr-schedule", choices=["constant", "linear", "inverse_sqrt"], default=None)
    p.add_argument("--ema", type=_args.unit_interval, default=None, metavar="DECAY",
                   help="keep an EMA generator with this decay (e.g. 0.999)")
    p.add_argument("--resize", action="store_true", help="upscale images smaller than the model's")
    p.add_argument("--skip-corrupt", action="store_true", help="skip unreadable images with a warning")
    p.add_argument("--data-dir", default=None, help="TFDS data directory")
    p.add_argument("--no-download", action="store_true",
                   help="TFDS: fail at once if the data is not prepared in --data-dir "
                   "(offline machines; TFDS otherwise retries the download for minutes)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", type=_args.recipe_override,
                   help="override any recipe field with a TOML value, e.g. generator.base_filters=32 "
                   "(repeatable)")
    p.add_argument("--unset", action="append", default=[], metavar="FIELD",
                   help="remove an optional recipe field or a table's key, e.g. augment (no "
                   "augmentation) or d_optimizer.decay_steps; TOML has no null for --set (repeatable)")
    p.add_argument("--xla", choices=["auto", "on", "off"], default="auto",
                   help="XLA compilation (auto: off on CPUs, where it measured slower; on for a GPU/TPU)")
    p.add_argument("--eval-every", type=_args.positive_int, default=None, metavar="N",
                   help="evaluate every N epochs (results in metrics.jsonl)")
    p.add_argument("--eval-metrics", default="fid,kid", help="with --eval-every (default: fid,kid)")
    p.add_argument("--eval-samples", type=_args.positive_int, default=1000)
    p.add_argument("--strategy", default="default",
                   help="default | one_device | mirrored | multi_worker | tpu[:ADDRESS]")
    p.add_argument("--precision", default="float32",
                   choices=["float32", "mixed_float16", "mixed_bfloat16"])
    p.set_defaults(func=run)


def run(args):
    from ganzoo.train import train_run

    train_run(
        args.name,
        args.out,
        data=args.data,
        epochs=args.epochs,
        steps=args.steps,
        seed=args.seed,
        jit_compile={"auto": "auto", "on": True, "off": False}[args.xla],
        resize=args.resize,
        skip_corrupt=args.skip_corrupt,
        data_dir=args.data_dir,
        download=not args.no_download,
        batch_size=args.batch_size,
        latent_dim=args.latent_dim,
        d_steps=args.d_steps,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        ema_decay=args.ema,
        recipe_overrides=_args.merge_overrides(args.set, args.unset),
        strategy=args.strategy,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
        eval_metrics=args.eval_metrics,
        eval_samples=args.eval_samples,
        extend=args.extend,
        precision=args.precision,
        pretrained=args.pretrained,
        init_from=args.init_from,
    )
    return 0
