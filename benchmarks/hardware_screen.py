"""Which trained model to export: how often its circuit would decide a clip
otherwise than its software, estimated in software, without a simulation.

    python benchmarks/hardware_screen.py RUN [RUN ...] --data-dir DIR
        [--split training] [--sigma 0.02] [--trials 10] [--json]

For each run, on the clips of ``--split`` (the training clips by default: a
choice made on held-out clips would be tuned to the clips a sign-off
reports), it prints the clip accuracy, the clips whose frame vote is within
5 frames of a tie (its two leading classes), and two shares of the clip decisions:

- ``noise``: those that ``N(0, sigma)`` units on every memory cell's input
  flip (:func:`bmru_keras.parameter_noise.input_noise_flips`; 0.02 units
  predicts about what the shipped circuit moves, ``docs/results.md``);
- ``edge``: those that the software replay of the frame-edge transient
  changes (:func:`exporters.software.frame_edge_logits`; models of
  ``build_kws_model`` with skips and two or more memory layers, else blank);

and their sum, the screen's score, runs sorted by it (lowest first): the
run to export and verify is the first of those accurate enough. Beside it,
the feed-forward current in units (:func:`bmru_keras.currents.mirror_currents`,
summed over the Dense layers), which the circuit's feed-forward power
follows (about 1.5 nW per unit at 350 pA and 1.0 V, ``docs/results.md``).
"""

import argparse
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Frames: a clip whose vote is this near a tie (its two leading classes
#: within twice this many frames of each other) is "near".
NEAR_TIE = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument(
        "--split", default="training", choices=["training", "validation", "testing", "heldout"]
    )
    parser.add_argument("--sigma", type=float, default=0.02, help="units (default 0.02)")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bmru_keras.currents import mirror_currents
    from bmru_keras.evaluation import clip_decisions, frame_votes
    from bmru_keras.models import predict_in_batches
    from bmru_keras.parameter_noise import input_noise_flips
    from bmru_keras.training import load_run, run_inputs
    from exporters.software import frame_edge_logits

    rows = []
    for run in args.runs:
        config, model, normalization = load_run(run)
        _, data, x = run_inputs(config, normalization, args.data_dir, args.split)
        rule = config.model.decision
        logits = predict_in_batches(model, x)
        decisions = clip_decisions(logits, rule)
        top_two = np.sort(frame_votes(logits), axis=1)[:, -2:]  # the two most voted for
        try:
            edge = float(np.mean(clip_decisions(frame_edge_logits(model, x), rule) != decisions))
        except ValueError:  # not build_kws_model's two-layer topology with skips
            edge = None
        noise = input_noise_flips(model, x, args.sigma, args.trials, rule)
        rows.append(
            {
                "run": run,
                "split": args.split,
                "clips": len(x),
                "accuracy": float(np.mean(decisions == data.labels)),
                "near_ties": int(np.sum(top_two[:, 1] - top_two[:, 0] < 2 * NEAR_TIE)),
                "noise_flips": noise,
                "edge_changes": edge,
                "score": noise + (edge or 0.0),
                "mirror_current": sum(mirror_currents(model, x).values()),
            }
        )
    rows.sort(key=lambda row: row["score"])
    if args.json:
        print(json.dumps({"sigma": args.sigma, "trials": args.trials, "runs": rows}))
        return
    header = f"noise {args.sigma:g} units on every cell input, {args.trials} draws"
    print(f"{args.split} clips; {header}")
    print(
        "| run | clips | accuracy % | near ties | noise flips % | edge changes % | score % "
        "| mirror current (units) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        edge = "" if r["edge_changes"] is None else f"{100 * r['edge_changes']:.2f}"
        print(
            f"| {r['run']} | {r['clips']} | {100 * r['accuracy']:.1f} | {r['near_ties']} | "
            f"{100 * r['noise_flips']:.2f} | {edge} | {100 * r['score']:.2f} | "
            f"{r['mirror_current']:.1f} |"
        )


if __name__ == "__main__":
    main()
