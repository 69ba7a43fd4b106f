"""`ganzoo list`: the zoo entries, one line each."""


def add_parser(sub):
    p = sub.add_parser("list", help="list the zoo entries")
    p.add_argument("pattern", nargs="?", default="*", help="wildcard filter, e.g. 'sngan*'")
    p.add_argument("--pretrained", action="store_true", help="only entries with shipped weights")
    p.add_argument("--markdown", action="store_true", help="print the README's zoo table")
    p.add_argument("--cards", action="store_true",
                   help="print the README's table of pretrained models and their measured metrics")
    p.set_defaults(func=run)


def zoo_table(names):
    """The README's markdown table of zoo entries."""
    from ganzoo import registry

    rows = [
        "| entry | model | data | batch x D steps | loss | pretrained | paper | deviations from the paper |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        r = registry.get_recipe(name)
        rows.append(
            f"| `{name}` | {r.description} | `{r.dataset}` | {r.batch_size} x {r.d_steps} | "
            f"{r.loss} | {'yes' if registry.has_pretrained(name) else '-'} | {r.paper} | "
            f"{r.deviations or '-'} |"
        )
    return "\n".join(rows)


def cards_table(names):
    """The README's markdown table of pretrained models, read from their model cards."""
    import json

    from ganzoo import data as data_lib
    from ganzoo import paths

    rows = [
        "| entry | samples (seed 0) | FID | KID (raw) | precision | recall | modes hit | KL(modes) | IS | C_T "
        "| class accuracy / intra-FID | G steps | train time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    num_classes = {}
    for name in names:
        card = json.loads((paths.SAVED_MODELS_DIR / name / paths.CARD).read_text())
        m, t = card["metrics"]["summary"], card["training"]
        if card["data"] not in num_classes:  # the modes of the card's data (describing mnist_5k reads it)
            num_classes[card["data"]] = data_lib.describe(card["data"]).num_classes
        conditional = "-"
        if "conditional_accuracy" in m:
            conditional = f"{m['conditional_accuracy']:.3f} / {m['intra_fid']:.2f}"
        rows.append(
            f"| `{name}` | ![{name}](saved_models/{name}/samples.png) | {m['fid']:.2f} | {m['kid']:.2f} | "
            f"{m['precision']:.3f} | {m['recall']:.3f} | {int(m['modes_hit'])}/{num_classes[card['data']]} | {m['modes_kl']:.3f} | "
            f"{m['is']:.2f} | {fmt(m.get('c_t'), '.2f')} | {conditional} | {t['generator_steps']} | "
            f"{t['wall_time_seconds'] / 60:.0f} min |"
        )
    return "\n".join(rows)


def run(args):
    from ganzoo import registry

    names = registry.list_models(args.pattern, pretrained=args.pretrained or args.cards)
    if not names:
        which = "zoo entry with shipped weights" if args.pretrained or args.cards else "zoo entry"
        raise ValueError(
            f"No {which} matches the pattern; `ganzoo list` shows all "
            f"{len(registry.list_models())} entries. Received: pattern={args.pattern!r}"
        )
    if args.cards:
        print(cards_table(names))
        return 0
    if args.markdown:
        print(zoo_table(names))
        return 0
    width = max((len(n) for n in names), default=0)
    for name in names:
        r = registry.get_recipe(name)
        flag = " [pretrained]" if registry.has_pretrained(name) else ""
        print(f"{name:<{width}}  {r.description}; data {r.dataset}; {r.paper}{flag}")
    return 0
