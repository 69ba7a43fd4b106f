"""`ganzoo list`: the zoo entries, one line each."""


def add_parser(sub):
    p = sub.add_parser("list", help="list the zoo entries")
    p.add_argument("pattern", nargs="?", default="*", help="wildcard filter, e.g. 'sngan*'")
    p.add_argument("--pretrained", action="store_true", help="only entries with shipped weights")
    p.add_argument("--markdown", action="store_true", help="print the README's zoo table")
    p.set_defaults(func=run)


def zoo_table(names):
    """The README's markdown table of zoo entries."""
    from ganzoo import registry

    rows = [
        "| entry | model | data | batch x D steps | loss | pretrained | paper |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        r = registry.get_recipe(name)
        rows.append(
            f"| `{name}` | {r.description} | `{r.dataset}` | {r.batch_size} x {r.d_steps} | "
            f"{r.loss} | {'yes' if registry.has_pretrained(name) else '-'} | {r.paper} |"
        )
    return "\n".join(rows)


def run(args):
    from ganzoo import registry

    names = registry.list_models(args.pattern, pretrained=args.pretrained)
    if args.markdown:
        print(zoo_table(names))
        return 0
    width = max((len(n) for n in names), default=0)
    for name in names:
        r = registry.get_recipe(name)
        flag = " [pretrained]" if registry.has_pretrained(name) else ""
        print(f"{name:<{width}}  {r.description}; data {r.dataset}; {r.paper}{flag}")
    return 0
