"""A trained run given a start delay per memory layer, without retraining
(``bmru_keras.models.with_start_delay``), and what the delay changes in
software.

    python benchmarks/start_delay.py RUN_DIR OUT_DIR --data-dir DIR
        [--frames 2] [--split heldout] [--json]

Writes OUT_DIR as a run folder that every ``bmru`` command and benchmark
reads: ``config.yaml`` (``model.start_delay`` set), ``model.keras`` (memory
layer i held i x --frames frames in reset), ``normalization.json``, and
``derived.json`` naming the run it comes from. Prints, on the clips of
--split, the clip accuracy and balanced accuracy of both models and how many
clip decisions the delay changes.
"""

import argparse
import json
import shutil
from pathlib import Path

from bmru_keras.dependencies import import_tensorflow_quietly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--frames", type=int, default=2, help="frames per layer (default 2)")
    parser.add_argument("--split", default="heldout", help="clips to score (default heldout)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import_tensorflow_quietly()
    import numpy as np
    import yaml

    from bmru_keras.evaluation import clip_decisions, clip_metrics
    from bmru_keras.models import predict_in_batches, with_start_delay
    from bmru_keras.training import load_run, run_inputs

    config, model, normalization = load_run(args.run_dir)
    late = with_start_delay(model, args.frames)
    out = Path(args.out_dir)
    if out.resolve() == Path(args.run_dir).resolve():
        raise SystemExit("give an OUT_DIR other than the run folder: the run is kept as it is")
    out.mkdir(parents=True, exist_ok=True)
    late.save(out / "model.keras")
    shutil.copyfile(Path(args.run_dir) / "normalization.json", out / "normalization.json")
    values = yaml.safe_load((Path(args.run_dir) / "config.yaml").read_text())
    values["model"]["start_delay"] = args.frames
    (out / "config.yaml").write_text(yaml.safe_dump(values, sort_keys=False))

    names, data, x = run_inputs(config, normalization, args.data_dir, args.split)
    rule = config.model.decision
    scores, decisions = {}, {}
    for key, m in (("run", model), ("delayed", late)):
        logits = predict_in_batches(m, x)
        metrics = clip_metrics(logits, data.labels, names, rule)
        decisions[key] = clip_decisions(logits, rule)
        scores[key] = {k: metrics[k] for k in ("clip_accuracy", "balanced_accuracy")}
    result = {
        "run_dir": str(args.run_dir),
        "frames": args.frames,
        "split": args.split,
        "clips": len(x),
        **scores,
        "decisions_changed": int(np.sum(decisions["run"] != decisions["delayed"])),
    }
    (out / "derived.json").write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result))
        return
    print(f"{len(x)} clips of {args.split}; memory layer i waits {args.frames} x i frames")
    for key in ("run", "delayed"):
        accuracy, balanced = scores[key]["clip_accuracy"], scores[key]["balanced_accuracy"]
        print(f"  {key:8s} clip accuracy {accuracy:.1%}, balanced {balanced:.1%}")
    print(f"  decisions changed: {result['decisions_changed']}; written to {out}")


if __name__ == "__main__":
    main()
