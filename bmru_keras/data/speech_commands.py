"""Google Speech Commands in its own layout: tasks, splits and clip lists.

A dataset folder holds one folder per word (``yes/<speaker>_nohash_<n>.wav``),
``_background_noise_/`` with long noise recordings, and optionally the
official ``validation_list.txt`` / ``testing_list.txt``. This module decides
which clips make up each split of a task; :mod:`bmru_keras.data.audio` reads
them.
"""

import hashlib
import importlib.resources
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bmru_keras.config import DataConfig, SplitConfig

log = logging.getLogger(__name__)

NOISE_DIR = "_background_noise_"
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
SPLITS = ("training", "validation", "testing")
#: The seed that draws every split but training (its balanced subsample and
#: silence windows), whatever the run's seed, so that every seed of a sweep is
#: scored on the same clips; 0, the draw seed-0 runs always had.
EVALUATION_SEED = 0
CORE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
#: Fraction of every noise recording, in time, reserved for each split's
#: silence clips and noise augmentation (so no noise sample is shared).
NOISE_SPANS = {
    "training": (0.0, 0.7),
    "validation": (0.7, 0.85),
    "testing": (0.85, 1.0),
}

PRESETS = {
    # The paper's binary task: "yes" against silence and five other words.
    "yes_vs_rest": {
        "yes": ["yes"],
        "other": [SILENCE, "no", "up", "down", "left", "right"],
    },
    # The standard 12-class task: ten words, silence, unknown.
    "kws12": {
        **{word: [word] for word in CORE_WORDS},
        "silence": [SILENCE],
        "unknown": [UNKNOWN],
    },
}


class DatasetError(ValueError):
    """A dataset folder that cannot give the requested task."""


@dataclass(frozen=True)
class Clip:
    """One example: a word clip, or a 1-s window of background noise."""

    label: int
    word: str  # source word, or SILENCE
    path: str  # relative to the dataset root (a noise file for silence)
    speaker: str = ""
    offset: int = 0  # first sample (silence windows)
    gain: float = 1.0  # silence windows

    @property
    def key(self) -> str:
        """A name unique within a split: the path, and for a silence window
        its offset in the noise file (many windows share one file)."""
        return f"{self.path}@{self.offset}" if self.word == SILENCE else self.path


def sample_dir() -> Path:
    """The small real Speech Commands sample shipped with the package."""
    return Path(str(importlib.resources.files("bmru_keras"))) / "data/sample/speech_commands"


def resolve_task(task) -> dict[str, list[str]]:
    """Class name -> source words, from a preset name, ``{keywords: [...],
    silence: bool, unknown: bool}`` or ``{classes: {name: [words]}}``."""
    if isinstance(task, str):
        if task not in PRESETS:
            raise DatasetError(
                f"unknown task preset {task!r}; presets: {', '.join(PRESETS)}, or "
                "give `task: {keywords: [...]}` or `task: {classes: {...}}`"
            )
        return PRESETS[task]
    if isinstance(task, dict) and set(task) == {"classes"}:
        classes = task["classes"]
        if not isinstance(classes, dict) or not all(
            isinstance(v, list) and v for v in classes.values()
        ):
            raise DatasetError("`task.classes` must map class names to word lists")
        return {str(name): [str(w) for w in words] for name, words in classes.items()}
    if isinstance(task, dict) and "keywords" in task:
        unknown_keys = set(task) - {"keywords", "silence", "unknown"}
        if unknown_keys:
            raise DatasetError(f"unknown key(s) in `task`: {sorted(unknown_keys)}")
        classes = {str(word): [str(word)] for word in task["keywords"]}
        if task.get("silence", True):
            classes["silence"] = [SILENCE]
        if task.get("unknown", True):
            classes["unknown"] = [UNKNOWN]
        return classes
    raise DatasetError(
        f"`task` must be a preset name, {{keywords: [...]}} or {{classes: {{...}}}}; got {task!r}"
    )


def speaker_of(filename: str) -> str:
    """The speaker id in ``<speaker>_nohash_<n>.wav``."""
    return Path(filename).name.split("_nohash_")[0]


def hash_split(speaker: str, split: SplitConfig) -> str:
    """Speaker-disjoint split from a salted SHA-1 of the speaker id."""
    digest = hashlib.sha1((split.salt + speaker).encode()).hexdigest()
    percent = (int(digest, 16) % 10000) / 100.0
    if percent < 100 * split.test:
        return "testing"
    if percent < 100 * (split.test + split.validation):
        return "validation"
    return "training"


def _official_lists(root: Path) -> dict[str, str] | None:
    lists = {"validation": "validation_list.txt", "testing": "testing_list.txt"}
    if not all((root / name).is_file() for name in lists.values()):
        return None
    assignment = {}
    for split, name in lists.items():
        for line in (root / name).read_text().split():
            assignment[line.strip()] = split
    return assignment


def scan_words(root: Path) -> dict[str, list[str]]:
    """Word folder -> sorted relative paths of its WAV files."""
    if not root.is_dir():
        raise DatasetError(
            f"dataset folder {str(root)!r} not found. Pass --data-dir with a folder "
            "in the Speech Commands layout, or `bmru data download DIR` first."
        )
    words = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith("_"):
            continue
        files = sorted(f"{folder.name}/{p.name}" for p in folder.glob("*.wav"))
        if files:
            words[folder.name] = files
    if not words:
        raise DatasetError(
            f"{root} has no word folders with .wav files; is it a Speech Commands "
            "folder (yes/, no/, ..., _background_noise_/)?"
        )
    return words


def noise_files(root: Path) -> list[str]:
    return sorted(f"{NOISE_DIR}/{p.name}" for p in (root / NOISE_DIR).glob("*.wav"))


def _assign_splits(root: Path, files: list[str], split: SplitConfig) -> dict[str, str]:
    official = None if split.method == "speaker_hash" else _official_lists(root)
    if split.method == "official" and official is None:
        raise DatasetError(
            f"split method 'official' needs {root}/validation_list.txt and "
            "testing_list.txt; use `data.split.method: speaker_hash`"
        )
    if official is not None:
        assignment = {f: official.get(f, "training") for f in files}
        training = sum(s == "training" for s in assignment.values()) / max(len(files), 1)
        if split.method == "official" or training >= split.min_training_fraction:
            return assignment
        log.warning(
            "the official lists put only %.0f%% of the clips in %s in training; "
            "splitting by salted speaker hash instead",
            100 * training,
            root,
        )
    return {f: hash_split(speaker_of(f), split) for f in files}


def build_clips(
    root: Path, config: DataConfig, seed: int, splits=SPLITS, balance=None
) -> tuple[list[str], dict[str, list[Clip]]]:
    """The task's class names and, for each requested split, its clips.

    ``splits`` may also be ``("all",)``: every clip of the task's classes, with
    silence cut from whole noise files. ``balance`` (default: the config's)
    subsamples each split to its smallest class; the training split keeps
    every clip if ``config.balance_training`` is ``"weight"`` (see
    :func:`bmru_keras.data.pipeline.class_weights`). ``seed`` draws the
    training split's subsample and silence windows; every other split is
    drawn with :data:`EVALUATION_SEED`, the same clips for every seed.
    """
    root = Path(root)
    classes = resolve_task(config.task)
    names = list(classes)
    words = scan_words(root)
    claimed = {w for ws in classes.values() for w in ws if w not in (SILENCE, UNKNOWN)}
    missing = sorted(claimed - set(words))
    if missing:
        raise DatasetError(
            f"{root} has no folder (or no .wav files) for the word(s) {missing} that the task needs"
        )
    label_of = {}
    for label, name in enumerate(names):
        for word in classes[name]:
            if word == UNKNOWN:
                for other in words:
                    if other not in claimed:
                        label_of.setdefault(other, label)
            elif word != SILENCE:
                label_of[word] = label
    files = [f for w in words if w in label_of for f in words[w]]
    assignment = (
        {f: "all" for f in files}
        if tuple(splits) == ("all",)
        else _assign_splits(root, files, config.split)
    )
    silence_label = next((i for i, n in enumerate(names) if SILENCE in classes[n]), None)
    noises = noise_files(root)
    if silence_label is not None and not noises:
        raise DatasetError(f"the task has a silence class but {root / NOISE_DIR} has no .wav files")
    result = {}
    for split in splits:
        # One generator per split: a split's clips do not depend on which
        # other splits were asked for.
        draw = seed if split == "training" else EVALUATION_SEED
        rng = np.random.default_rng([draw, zlib.crc32(split.encode())])
        clips = [
            Clip(label_of[f.split("/")[0]], f.split("/")[0], f, speaker_of(f))
            for f in files
            if assignment[f] == split
        ]
        if silence_label is not None:
            # As many silence clips as the task's words have clips, on average.
            per_word = [sum(c.word == w for c in clips) for w in sorted(claimed)]
            count = int(round(np.mean([n for n in per_word if n] or [0])))
            clips += _silence_clips(root, noises, split, count, silence_label, config, rng)
        counts = np.bincount([c.label for c in clips], minlength=len(names))
        empty = [names[i] for i, n in enumerate(counts) if n == 0]
        if empty:
            raise DatasetError(
                f"class(es) {empty} have no clips in the {split!r} split of {root}; "
                "use a larger dataset or change the task or split fractions"
            )
        weighted = split == "training" and config.balance_training == "weight"
        if (config.balance if balance is None else balance) and not weighted:
            clips = _balance(clips, len(names), rng)
        if split == "training" and config.train_fraction < 1.0:
            clips = _fraction(clips, len(names), config.train_fraction, rng)
        result[split] = clips
    return names, result


def _silence_clips(root, noises, split, count, label, config, rng) -> list[Clip]:
    import wave

    start, stop = NOISE_SPANS.get(split, (0.0, 1.0))
    clips = []
    low, high = config.silence_gain
    for i in range(count):
        noise = noises[i % len(noises)]
        with wave.open(str(root / noise)) as file:
            frames, rate = file.getnframes(), file.getframerate()
        if rate != 16000:
            raise DatasetError(
                f"{root / noise} is sampled at {rate} Hz; the background noise must be "
                "16 kHz like the clips: resample it (e.g. `sox IN.wav -r 16000 OUT.wav`)"
            )
        first, last = int(start * frames), int(stop * frames) - 16000
        if last <= first:
            raise DatasetError(
                f"{root / noise} is too short to cut 1-s silence clips for {split!r}"
            )
        offset = int(rng.integers(first, last))
        clips.append(Clip(label, SILENCE, noise, "", offset, float(rng.uniform(low, high))))
    return clips


def _fraction(clips: list[Clip], n_classes: int, fraction: float, rng) -> list[Clip]:
    """``fraction`` of each class's clips (at least one), in their order; a
    smaller fraction keeps a subset of a larger one's clips."""
    kept = []
    for k in range(n_classes):
        group = [c for c in clips if c.label == k]
        order = rng.permutation(len(group))
        kept += [group[i] for i in np.sort(order[: max(1, round(fraction * len(group)))])]
    return kept


def _balance(clips: list[Clip], n_classes: int, rng) -> list[Clip]:
    by_label = [[c for c in clips if c.label == k] for k in range(n_classes)]
    size = min(len(group) for group in by_label)
    kept = []
    for group in by_label:
        index = np.sort(rng.choice(len(group), size, replace=False))
        kept += [group[i] for i in index]
    return kept
