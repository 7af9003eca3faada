"""The Speech Commands loader on the real clips shipped with the package."""

import logging
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from bmru_keras.config import DataConfig, SplitConfig
from bmru_keras.data.audio import load_waveforms
from bmru_keras.data.speech_commands import (
    NOISE_SPANS,
    SILENCE,
    Clip,
    DatasetError,
    build_clips,
    hash_split,
    sample_dir,
)

SAMPLE = sample_dir()
SAMPLE_SPLIT = SplitConfig(method="speaker_hash", salt="sample36", validation=0.2, test=0.2)


def test_sample_gives_the_binary_task_with_disjoint_speakers():
    config = DataConfig(split=SAMPLE_SPLIT, balance_training="subsample")
    names, splits = build_clips(SAMPLE, config, seed=0)
    assert names == ["yes", "other"]
    speakers = {s: {c.speaker for c in clips if c.word != SILENCE} for s, clips in splits.items()}
    assert [len(v) for v in speakers.values()] == [8, 3, 3]
    assert not speakers["training"] & speakers["validation"]
    assert not speakers["training"] & speakers["testing"]
    assert not speakers["validation"] & speakers["testing"]
    for split, clips in splits.items():
        assert len({c.key for c in clips}) == len(clips)  # results are filed by key
        counts = np.bincount([c.label for c in clips])
        assert counts[0] == counts[1] == sum(c.word == "yes" for c in clips)  # balanced
        other_words = {c.word for c in clips if c.label == 1}
        assert SILENCE in other_words and other_words <= {
            SILENCE,
            "no",
            "up",
            "down",
            "left",
            "right",
        }
        start, stop = NOISE_SPANS[split]
        for clip in clips:
            if clip.word == SILENCE:
                with wave.open(str(SAMPLE / clip.path)) as file:
                    frames = file.getnframes()
                assert start * frames <= clip.offset <= stop * frames - 16000


def test_weighted_balance_keeps_every_training_clip_and_weights_classes_equally():
    from bmru_keras.data.pipeline import class_weights

    subsampled = build_clips(
        SAMPLE, DataConfig(split=SAMPLE_SPLIT, balance_training="subsample"), seed=0
    )[1]
    config = DataConfig(split=SAMPLE_SPLIT, balance_training="weight")
    weighted = build_clips(SAMPLE, config, seed=0)[1]
    assert weighted["testing"] == subsampled["testing"]  # held-out splits stay balanced
    labels = np.array([c.label for c in weighted["training"]])
    counts = np.bincount(labels)
    assert len(labels) > len(subsampled["training"]) and counts[1] > counts[0]
    weights = class_weights(labels, 2)
    # Each class weighs half of the split; a rarer class's clips weigh more.
    assert np.allclose([weights[labels == k].sum() for k in (0, 1)], len(labels) / 2)
    assert weights[labels == 0][0] > weights[labels == 1][0]


def test_train_fraction_keeps_a_nested_balanced_part_of_training_only():
    full = build_clips(SAMPLE, DataConfig(split=SAMPLE_SPLIT), seed=0)[1]
    half = build_clips(SAMPLE, DataConfig(split=SAMPLE_SPLIT, train_fraction=0.5), seed=0)[1]
    tenth = build_clips(SAMPLE, DataConfig(split=SAMPLE_SPLIT, train_fraction=0.1), seed=0)[1]
    assert half["testing"] == full["testing"] and half["validation"] == full["validation"]
    counts = [np.bincount([c.label for c in s["training"]]) for s in (full, half, tenth)]
    assert list(counts[1]) == [round(n / 2) for n in counts[0]]
    assert all(n >= 1 for n in counts[2])
    keys = [{c.key for c in s["training"]} for s in (full, half, tenth)]
    assert keys[2] < keys[1] < keys[0]


def test_silence_windows_of_one_noise_file_have_their_own_keys():
    noise = "_background_noise_/white_noise.wav"
    first, second = Clip(1, SILENCE, noise, offset=0), Clip(1, SILENCE, noise, offset=16000)
    assert first.path == second.path and first.key != second.key
    assert Clip(0, "yes", "yes/a_nohash_0.wav").key == "yes/a_nohash_0.wav"


def test_twelve_class_task_with_silence_and_unknown():
    names, splits = build_clips(SAMPLE, DataConfig(task="kws12"), seed=0, splits=("all",))
    assert names[-2:] == ["silence", "unknown"] and len(names) == 12
    counts = np.bincount([c.label for c in splits["all"]], minlength=12)
    assert np.all(counts == counts.min())  # balanced to the rarest class
    unknown = {c.word for c in splits["all"] if c.label == 11}
    assert unknown and unknown.isdisjoint({"yes", "no", "on", "off"})


def test_keyword_list_task():
    config = DataConfig(task={"keywords": ["up", "down"], "silence": False}, balance=False)
    names, splits = build_clips(SAMPLE, config, seed=0, splits=("all",))
    assert names == ["up", "down", "unknown"]
    words = {c.word for c in splits["all"] if c.label == 2}
    assert "yes" in words and "up" not in words


def test_hash_split_is_salted_and_follows_fractions():
    rng = np.random.default_rng(0)
    speakers = [f"{v:08x}" for v in rng.integers(0, 2**32, 20000)]
    split = SplitConfig(validation=0.1, test=0.2, salt="a")
    shares = {s: 0 for s in ("training", "validation", "testing")}
    for speaker in speakers:
        shares[hash_split(speaker, split)] += 1
    assert abs(shares["testing"] / 20000 - 0.2) < 0.015
    assert abs(shares["validation"] / 20000 - 0.1) < 0.015
    other_salt = SplitConfig(validation=0.1, test=0.2, salt="b")
    assert any(hash_split(s, split) != hash_split(s, other_salt) for s in speakers[:50])


def copy_sample(tmp_path: Path, words=("yes", "no", "up", "down", "left", "right")) -> Path:
    root = tmp_path / "sc"
    for word in (*words, "_background_noise_"):
        shutil.copytree(SAMPLE / word, root / word)
    return root


def test_official_lists_are_used_when_they_fit(tmp_path):
    root = copy_sample(tmp_path)
    files = sorted(str(p.relative_to(root)) for p in root.glob("[!_]*/*.wav"))
    (root / "validation_list.txt").write_text("\n".join(files[::7]))
    (root / "testing_list.txt").write_text("\n".join(files[1::7]))
    config = DataConfig(balance=False, split=SplitConfig(method="auto"))
    _, splits = build_clips(root, config, seed=0)
    assert {c.path for c in splits["validation"] if c.word != SILENCE} == set(files[::7])
    assert {c.path for c in splits["testing"] if c.word != SILENCE} == set(files[1::7])


def test_official_lists_that_starve_training_fall_back_to_speaker_hash(tmp_path, caplog):
    root = copy_sample(tmp_path)
    files = sorted(str(p.relative_to(root)) for p in root.glob("[!_]*/*.wav"))
    (root / "validation_list.txt").write_text("")
    (root / "testing_list.txt").write_text("\n".join(files))  # as the shared subset
    config = DataConfig(
        balance=False,
        split=SplitConfig(method="auto", salt="sample36", validation=0.2, test=0.2),
    )
    with caplog.at_level(logging.WARNING):
        _, splits = build_clips(root, config, seed=0)
    assert "splitting by salted speaker hash" in caplog.text
    assert len(splits["training"]) > len(splits["testing"])


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="not found.*--data-dir"):
        build_clips(tmp_path / "nowhere", DataConfig(), seed=0)


def test_missing_word_and_empty_class_are_errors(tmp_path):
    root = copy_sample(tmp_path, words=("yes", "no"))
    with pytest.raises(DatasetError, match=r"no folder .* \['down', 'left', 'right', 'up'\]"):
        build_clips(root, DataConfig(), seed=0)
    config = DataConfig(task={"classes": {"yes": ["yes"], "no": ["no"]}}, split=SAMPLE_SPLIT)
    for clip in sorted((root / "no").glob("*.wav"))[1:]:  # one speaker says "no"
        clip.unlink()
    with pytest.raises(DatasetError, match=r"class\(es\) \['no'\] have no clips"):
        build_clips(root, config, seed=0)


def write_wav(path: Path, rate: int, samples: int = 16000, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(channels)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(np.zeros(samples * channels, "int16").tobytes())


def test_wrong_sample_rate_names_the_file(tmp_path):
    write_wav(tmp_path / "abc_nohash_0.wav", 8000)
    clip = Clip(0, "yes", "abc_nohash_0.wav", "abc")
    with pytest.raises(DatasetError, match=r"abc_nohash_0.wav is sampled at 8000 Hz"):
        load_waveforms(tmp_path, [clip], 16000, 16000)


def test_corrupt_wav_is_skipped_and_counted(tmp_path, caplog):
    write_wav(tmp_path / "good_nohash_0.wav", 16000, samples=12000)
    (tmp_path / "bad_nohash_0.wav").write_bytes(b"RIFF not really a wave file")
    clips = [Clip(0, "yes", "bad_nohash_0.wav"), Clip(0, "yes", "good_nohash_0.wav")]
    with caplog.at_level(logging.WARNING):
        waves, kept = load_waveforms(tmp_path, clips, 16000, 16000)
    assert waves.shape == (1, 16000) and kept == clips[1:]
    assert "skipped 1 unreadable WAV" in caplog.text and "bad_nohash_0.wav" in caplog.text


def test_empty_stereo_and_wholly_unreadable_classes(tmp_path, caplog):
    write_wav(tmp_path / "empty_nohash_0.wav", 16000, samples=0)
    write_wav(tmp_path / "stereo_nohash_0.wav", 16000, channels=2)
    (tmp_path / "bad_nohash_0.wav").write_bytes(b"RIFF not really a wave file")
    empty, stereo = Clip(0, "yes", "empty_nohash_0.wav"), Clip(1, "no", "stereo_nohash_0.wav")
    with caplog.at_level(logging.WARNING):
        _, kept = load_waveforms(
            tmp_path, [empty, stereo, Clip(0, "yes", "stereo_nohash_0.wav")], 16000, 16000
        )
    assert kept == [stereo, Clip(0, "yes", "stereo_nohash_0.wav")]
    assert "empty_nohash_0.wav holds no samples" in caplog.text
    assert "stereo_nohash_0.wav has 2 channels; using their mean" in caplog.text
    with pytest.raises(
        DatasetError, match=r"every clip of class index\(es\) \[0\] \(words \['yes'\]\)"
    ):
        load_waveforms(tmp_path, [Clip(0, "yes", "bad_nohash_0.wav"), stereo], 16000, 16000)


def test_a_split_does_not_depend_on_the_other_splits_asked_for():
    config = DataConfig(split=SAMPLE_SPLIT)
    _, everything = build_clips(SAMPLE, config, seed=3)
    _, alone = build_clips(SAMPLE, config, seed=3, splits=("testing",))
    assert alone["testing"] == everything["testing"]


def test_every_seed_is_scored_on_the_same_clips_and_trains_on_its_own_draw():
    config = DataConfig(split=SAMPLE_SPLIT, balance_training="subsample")
    first, second = (build_clips(SAMPLE, config, seed=s)[1] for s in (0, 3))
    for split in ("validation", "testing"):
        assert first[split] == second[split]
    assert first["training"] != second["training"]
    every = DataConfig(split=SAMPLE_SPLIT)
    assert (
        build_clips(SAMPLE, every, seed=0, splits=("all",))[1]
        == build_clips(SAMPLE, every, seed=3, splits=("all",))[1]
    )


def test_background_noise_at_another_rate_names_the_rate(tmp_path):
    root = copy_sample(tmp_path)
    for noise in (root / "_background_noise_").glob("*.wav"):
        write_wav(noise, 8000, samples=8000 * 60)  # a minute at 8 kHz: long enough
    with pytest.raises(DatasetError, match="sampled at 8000 Hz.*must be 16 kHz"):
        build_clips(root, DataConfig(), seed=0)
