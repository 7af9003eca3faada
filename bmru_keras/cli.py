"""The ``bmru`` command line. Heavy imports (TensorFlow) happen inside each
command, so ``bmru --help`` answers at once."""

import argparse
import json
import logging
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


def _run(args: argparse.Namespace) -> int:
    from bmru_keras.config import load_config

    config = load_config(args.config, args.set or [])
    from bmru_keras.training import run_experiment

    out = args.out or f"runs/{config.name}"
    metrics = run_experiment(config, out, args.data_dir)
    test = metrics["testing"]
    print(
        f"\n{config.name}: test clip accuracy {test['clip_accuracy']:.4f}, balanced "
        f"{test['balanced_accuracy']:.4f}, frames {test['frame_accuracy']:.4f} "
        f"({test['n_clips']} clips, {metrics['train_seconds']:.0f} s training)\n"
        f"run folder: {out}"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from bmru_keras.training import evaluate_run

    split = "testing" if args.split == "test" else "all"
    metrics = evaluate_run(args.run_dir, args.data_dir, split)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(
            f"clip accuracy {metrics['clip_accuracy']:.4f}, "
            f"balanced {metrics['balanced_accuracy']:.4f}, "
            f"frames {metrics['frame_accuracy']:.4f} "
            f"on {metrics['n_clips']} clips ({split})"
        )
        for name, row in zip(
            metrics["class_names"], metrics["confusion_matrix"], strict=True
        ):
            print(f"  {name:>10s} {row}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from bmru_keras.data.download import download_speech_commands

    print(
        f"Speech Commands v0.02 unpacked in {download_speech_commands(args.directory)}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bmru",
        description="Bistable memory recurrent units: train, export, verify.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train and evaluate a YAML experiment")
    run.add_argument("config", help="experiment YAML file (see configs/)")
    run.add_argument("--data-dir", help="Speech Commands folder (overrides data.dir)")
    run.add_argument("--out", help="run folder (default: runs/NAME)")
    run.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override, e.g. model.units=8",
    )
    run.set_defaults(handler=_run)

    evaluate = commands.add_parser(
        "evaluate", help="evaluate a run folder on a dataset"
    )
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--data-dir", required=True)
    evaluate.add_argument("--split", choices=["test", "all"], default="test")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(handler=_evaluate)

    data = commands.add_parser("data", help="dataset tools")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    download = data_commands.add_parser(
        "download", help="fetch and unpack Speech Commands v0.02 (2.3 GB)"
    )
    download.add_argument("directory")
    download.set_defaults(handler=_download)

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
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    from bmru_keras.config import ConfigError
    from bmru_keras.data.speech_commands import DatasetError

    try:
        return args.handler(args)
    except (ConfigError, DatasetError) as error:
        print(f"bmru {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
