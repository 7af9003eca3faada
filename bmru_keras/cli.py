"""The ``bmru`` command line. Heavy imports (TensorFlow) happen inside each
command, so ``bmru --help`` answers at once."""

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    from bmru_keras.demo import train_flipflop

    model, accuracy = train_flipflop(
        units=args.units, epochs=args.epochs, gradient=args.gradient, seed=args.seed
    )
    layer = model.layers[0]
    print(f"\nper-step accuracy on fresh sequences: {accuracy:.4f}")
    print("learned parameters per unit (alpha, beta_low, beta_high):")
    for values in zip(layer.alpha, layer.beta_low, layer.beta_high, strict=True):
        print("  " + "  ".join(f"{float(v):7.3f}" for v in values))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bmru",
        description="Bistable memory recurrent units: train, export, verify.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="train an FQ-BMRU on a set/reset memory task (about 30 s)"
    )
    demo.add_argument("--units", type=int, default=8)
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--gradient", choices=["ste", "surrogate"], default="surrogate")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
