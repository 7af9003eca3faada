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

    overrides = list(args.set or [])
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    config = load_config(args.config, overrides)
    from bmru_keras.training import run_experiment

    out = args.out or f"runs/{config.name}"
    metrics = run_experiment(config, out)
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
        for name, row in zip(metrics["class_names"], metrics["confusion_matrix"], strict=True):
            print(f"  {name:>10s} {row}")
    return 0


def _characterize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from exporters.characterize import characterize_cell, plot_loops, summary
    from exporters.pdk import gf180mcu

    models = gf180mcu(args.corner)
    if args.run_dir:
        from bmru_keras.training import load_run
        from exporters.characterize import characterize_model

        _, model, _ = load_run(args.run_dir)
        rows = characterize_model(model, args.unit_current, models, args.vdd)
    else:  # the reference cell: 350 / 200 / 500 pA
        loop = characterize_cell(350e-12, 200e-12, 500e-12, models, args.vdd)
        rows = [{"layer": "reference", "unit": 0, "loop": loop}]
    result = summary(rows)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        plot_loops(rows, Path(args.out) / "hysteresis.png")
        (Path(args.out) / "characterization.json").write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'cell':>18s} {'I_th':>7s} {'I_w':>7s} {'I_g':>7s} {'up':>7s} {'down':>7s} "
          f"{'high':>7s}  errors % (up, down, high)   [pA]")  # fmt: skip
    for unit in result["units"]:
        values = [unit[k] for k in ("i_thresh_a", "i_width_a", "i_gain_a", "switch_up_a")]
        down = unit["switch_down_a"]
        errors = [
            "never" if e is None else f"{100 * e:+.1f}" for e in unit["relative_errors"].values()
        ]
        print(
            f"{unit['layer'] + ' ' + str(unit['unit']):>18s} "
            + " ".join(f"{1e12 * v:7.1f}" for v in values)
            + (f" {1e12 * down:7.1f}" if down is not None else "   never")
            + f" {1e12 * unit['output_high_a']:7.1f}  {', '.join(errors)}"
        )
    print(f"largest relative error: {100 * result['max_relative_error']:.1f} %")
    return 0


def _circuit_options(parser: argparse.ArgumentParser, unit: float, vdd: float) -> None:
    parser.add_argument(
        "--unit-current", type=float, default=unit, metavar="A",
        help=f"current of one software unit (default {unit:g} A)",
    )  # fmt: skip
    parser.add_argument("--vdd", type=float, default=vdd, help=f"supply (default {vdd} V)")


def _export(args: argparse.Namespace) -> int:
    from bmru_keras.training import load_run
    from exporters import export_to_circuit

    _, model, _ = load_run(args.run_dir)
    circuit = export_to_circuit(model, unit_current=args.unit_current, vdd=args.vdd)
    out = circuit.write(args.out)
    print(f"{circuit.transistor_count} transistors {circuit.transistors}; written to {out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from exporters.verify import verify_run, write_report

    split = "testing" if args.split == "test" else "all"
    result = verify_run(
        args.run_dir, args.data_dir, split, args.clips, args.workers,
        args.unit_current, args.vdd,
    )  # fmt: skip
    out = write_report(result, Path(args.run_dir) / "verification")
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "clips"}, default=float))
    else:
        print((out / "verification.md").read_text())
    return 0


def _download(args: argparse.Namespace) -> int:
    from bmru_keras.data.download import download_speech_commands

    print(f"Speech Commands v0.02 unpacked in {download_speech_commands(args.directory)}")
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

    evaluate = commands.add_parser("evaluate", help="evaluate a run folder on a dataset")
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

    characterize = commands.add_parser(
        "characterize",
        help="sweep exported memory cells in ngspice and compare with the software",
    )
    characterize.add_argument(
        "run_dir", nargs="?", help="a run folder (default: one reference cell)"
    )
    characterize.add_argument("--unit-current", type=float, default=1e-9, metavar="A")
    characterize.add_argument("--vdd", type=float, default=1.8)
    characterize.add_argument("--corner", default="typical")
    characterize.add_argument("--out", help="folder for hysteresis.png and the JSON")
    characterize.add_argument("--json", action="store_true")
    characterize.set_defaults(handler=_characterize)

    export = commands.add_parser("export", help="export a run to a SPICE circuit")
    export.add_argument("run_dir")
    export.add_argument("--out", required=True)
    _circuit_options(export, 3e-10, 0.9)
    export.set_defaults(handler=_export)

    verify = commands.add_parser(
        "verify", help="simulate a run's circuit on clips in ngspice against Keras"
    )
    verify.add_argument("run_dir")
    verify.add_argument("--data-dir", required=True)
    verify.add_argument("--split", choices=["test", "all"], default="test")
    verify.add_argument("--clips", type=int, default=10)
    verify.add_argument("--workers", type=int, default=1)
    verify.add_argument("--json", action="store_true")
    _circuit_options(verify, 3e-10, 0.9)
    verify.set_defaults(handler=_verify)

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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from bmru_keras.config import ConfigError
    from bmru_keras.data.speech_commands import DatasetError
    from bmru_keras.training import RunFolderError
    from exporters.errors import ExportError, SimulationError

    try:
        return args.handler(args)
    except (
        ConfigError,
        DatasetError,
        RunFolderError,
        ExportError,
        SimulationError,
    ) as error:
        print(f"bmru {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
