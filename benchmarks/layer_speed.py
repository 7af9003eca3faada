"""Training-step and inference time of FQ-BMRU (scan, loop), GRU and SimpleRNN.

Same width (16 units), batch 256, 13 inputs, T = 101 and T = 1000, each model
compiled without and with XLA (``jit_compile``), all measured side by side in
one run (median of ``--repeats`` calls after a warm-up). Prints the table and
the ratios behind the targets.

    python benchmarks/layer_speed.py [--repeats 5]
"""

import argparse
import time

import keras
import numpy as np

from bmru_keras import FQBMRU

UNITS, BATCH, FEATURES = 16, 256, 13
LENGTHS = (101, 1000)
LAYERS = {
    "FQ-BMRU scan": lambda: FQBMRU(UNITS, return_sequences=True),
    "FQ-BMRU loop": lambda: FQBMRU(UNITS, implementation="loop", return_sequences=True),
    "GRU": lambda: keras.layers.GRU(UNITS, return_sequences=True),
    "SimpleRNN": lambda: keras.layers.SimpleRNN(UNITS, return_sequences=True),
}


def median_time(fn, repeats: int) -> float:
    fn()  # build, trace and compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure(make_layer, steps: int, jit: bool, repeats: int) -> tuple[float, float]:
    """(training-step seconds, inference seconds) for one batch."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((steps, FEATURES)), make_layer(), keras.layers.Dense(2)])
    model.compile(
        "adam",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (BATCH, steps, FEATURES)).astype("float32")
    y = np.zeros((BATCH, steps), "int32")
    train = median_time(lambda: model.train_on_batch(x, y), repeats)
    infer = median_time(lambda: model.predict_on_batch(x), repeats)
    return train, infer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = {}
    print(f"{'layer':14s} {'T':>5s} {'XLA':>4s} {'train ms':>9s} {'infer ms':>9s}")
    for steps in LENGTHS:
        for jit in (False, True):
            for name, make_layer in LAYERS.items():
                train, infer = measure(make_layer, steps, jit, args.repeats)
                results[name, steps, jit] = (train, infer)
                print(
                    f"{name:14s} {steps:5d} {'yes' if jit else 'no':>4s} "
                    f"{1e3 * train:9.1f} {1e3 * infer:9.1f}"
                )

    def best(name: str, steps: int) -> float:
        return min(results[name, steps, jit][0] for jit in (False, True))

    print("\ntraining-step speed-up of FQ-BMRU scan (x = times faster):")
    print(f"{'against':14s} {'T':>5s} {'no XLA':>7s} {'XLA':>7s} {'best/best':>9s}")
    for steps in LENGTHS:
        for other in ("FQ-BMRU loop", "GRU", "SimpleRNN"):
            same = [
                results[other, steps, jit][0] / results["FQ-BMRU scan", steps, jit][0]
                for jit in (False, True)
            ]
            both = best(other, steps) / best("FQ-BMRU scan", steps)
            print(f"{other:14s} {steps:5d} {same[0]:6.2f}x {same[1]:6.2f}x {both:8.2f}x")
    vs_loop = best("FQ-BMRU loop", 1000) / best("FQ-BMRU scan", 1000)
    vs_gru = best("GRU", 101) / best("FQ-BMRU scan", 101)
    print(f"\ntarget: scan >= 3x loop at T=1000, best vs best: {vs_loop:.2f}x")
    print(f"target: scan no slower than GRU at T=101, best vs best: {vs_gru:.2f}x")


if __name__ == "__main__":
    main()
