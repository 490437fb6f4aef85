"""`clipguard bench --suite music`: what the music family finds, misses and costs.

1. Recall and false matches, on two sources of music: numpy songs (fixtures/audio.py: synthesis,
   a weaker stand-in for recordings) and music21's scores played by FluidSynth on General MIDI
   instruments (fixtures/scores.py; `make audio-tools`): Bach chorales claimed, Palestrina,
   Monteverdi and trecento works unclaimed. 30 claimed songs of each, 6 s
   excerpts from anywhere in them under each edit: alone, -20 dB, AAC and MP3 at 32 kb/s, ±5%
   speed, an equal-loudness voice-over from the calibration speech, and the voice-over then AAC.
   Against them: excerpts of 120 unclaimed songs of that source and 60 utterances of speech.
   The family's index (with its ±5% warps) against the same landmarks without warps (a plain
   Shazam/audfprint index), in the same run. From the unclaimed side comes the lowest bar with
   at most 1% false matches.
2. Scale: the query cost of one 6 s excerpt in an index of 10,000 and of 100,000 reference tracks
   of synthetic fingerprints (uniform random hashes at the density real songs have here, 6 s a
   track), interleaved (bench/compare.py).
3. The family's added CPU per 10 s clip (audio decode, landmarks, the query against the 30
   claimed songs), against decoding and sampling the same clip's video.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np

from bench.compare import MIN_ROUNDS, interleaved, per_call, timed_ms
from bench.results import say
from classifiers.music.index import LandmarkIndex
from classifiers.music.landmarks import FRAMES_PER_S, PAIR_FRAMES, Landmarks, landmarks, peaks
from clipguard.core.config import MediaLimits, Settings
from fixtures.audio import at_speed, excerpt, song, speech, with_voice_over, write_audio, write_clip_with_audio
from fixtures.scores import PROGRAMS, SOUNDFONT, Unplayable, chorales, other_works, rendered
from media.audio import AUDIO_RATE, decode_audio
from media.sampling import sample_frames
from usecases.policy_files import load_policy

CLAIMED, SONG_S, EXCERPT_S = 30, 60, 6.0
UNCLAIMED, SPEECH = 120, 60
SCALE = (10_000, 100_000)
# Seconds of synthetic fingerprint per scale-test track: at the family's density 100,000 tracks
# of 6 s are 200-250 million postings, what fits in this machine's memory beside a test run.
TRACK_S = 6
MAX_FALSE = 0.01
TARGET_ADDED_S = 0.2


def run_music_bench(settings: Settings, rounds: int = MIN_ROUNDS) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, (source, catalogue) in enumerate(SOURCES.items(), 1):
            say(f"[1.{n}/3] {source}: {CLAIMED} claimed x {len(EDITS)} edits, {UNCLAIMED} unclaimed, "
                f"{SPEECH} utterances")
            songs, unclaimed_music = catalogue(settings)
            results[source] = _recall_and_false_matches(source, songs, unclaimed_music, Path(tmp))
        songs = SOURCES[NUMPY](settings)[0]
        refs = [landmarks(peaks(s, AUDIO_RATE)) for s in songs]
        density = sum(len(r) for r in refs) / sum(len(s) / AUDIO_RATE for s in songs)
        say(f"[2/3] one {EXCERPT_S:.0f} s excerpt's query at {SCALE[1]:,} vs {SCALE[0]:,} reference tracks, "
            f"{rounds} rounds")
        scale = _scale(refs[0], density, rounds)
        _report_comparisons("music: one query against synthetic fingerprints, 10x the tracks:", scale)
        say(f"[3/3] the family's added CPU per 10 s clip vs decoding its video, {rounds} rounds")
        added = _added_cost(Path(tmp), songs, LandmarkIndex.build(refs), rounds)
        _report_comparisons(f"music: added CPU per 10 s clip (target <= {TARGET_ADDED_S * 1000:.0f} ms):", added)
    return {**results, "scale": {f: c.to_dict() for f, c in scale.items()},
            "added": {f: c.to_dict() for f, c in added.items()}}


def _recall_and_false_matches(source: str, songs: list[np.ndarray], unclaimed_music: list[np.ndarray],
                              tmp: Path) -> dict:
    """Recall per edit of the claimed songs' excerpts, at the bar the unclaimed set allows."""
    refs = [landmarks(peaks(s, AUDIO_RATE)) for s in songs]
    density = sum(len(r) for r in refs) / sum(len(s) / AUDIO_RATE for s in songs)
    indexes = {"warped": (LandmarkIndex.build(refs), True), "plain": (LandmarkIndex.build(refs), False)}
    claimed = {edit: [_strength(indexes, make(excerpt(songs[i], start, EXCERPT_S), tmp, i), i)
                      for i, start in enumerate(_starts(songs))]
               for edit, make in EDITS.items()}
    unclaimed = [_strength(indexes, x, None) for x in unclaimed_music + _speech()]
    bars = {name: _bar([u[name] for u in unclaimed]) for name in indexes}
    _report_recall(source, claimed, unclaimed, bars, density)
    _report_policy(load_policy().signals["music"], claimed, unclaimed)
    return {"density_per_s": density, "bars": bars,
            "recall": {edit: {name: _recall([s[name] for s in strengths], bars[name]) for name in indexes}
                       for edit, strengths in claimed.items()},
            "unclaimed_max": {name: max(u[name] for u in unclaimed) for name in indexes}}


def _numpy_songs(settings: Settings) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return ([song(seed, SONG_S) for seed in range(CLAIMED)],
            [excerpt(song(10_000 + seed, 15), 4, EXCERPT_S) for seed in range(UNCLAIMED)])


def _scores(settings: Settings) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """CLAIMED chorales and UNCLAIMED works of other composers (their 6 s from 4 s in), each
    played on the next General MIDI instrument in turn."""
    if not SOUNDFONT.is_file():
        raise click.ClickException(f"no soundfont at {SOUNDFONT}: run `make audio-tools`")
    cache = settings.home / "bench" / "scores"
    claimed = _playable(chorales(), CLAIMED, cache)
    others = _playable(other_works(2 * UNCLAIMED), UNCLAIMED, cache, offset=CLAIMED)
    return claimed, [excerpt(x, 4, EXCERPT_S) for x in others]


def _playable(names: list[str], n: int, cache: Path, offset: int = 0) -> list[np.ndarray]:
    """The first `n` of `names` that FluidSynth plays, each on the next instrument in turn."""
    played = []
    for name in names:
        try:
            played.append(rendered(name, PROGRAMS[(offset + len(played)) % len(PROGRAMS)], cache))
        except Unplayable as exc:
            say(f"  skipped: {exc}")
        if len(played) == n:
            return played
    raise click.ClickException(f"only {len(played)} of {n} scores played")


NUMPY = "numpy songs"
SOURCES: dict[str, Callable[[Settings], tuple[list[np.ndarray], list[np.ndarray]]]] = {
    NUMPY: _numpy_songs,
    "music21 scores": _scores,
}


def _aac(samples: np.ndarray, tmp: Path, i: int, suffix: str = ".m4a") -> np.ndarray:
    return decode_audio(write_audio(tmp / f"edit-{i}{suffix}", samples, bitrate=32_000), MediaLimits()).samples


EDITS: dict[str, Callable[[np.ndarray, Path, int], np.ndarray]] = {
    "alone": lambda x, tmp, i: x,
    "-20 dB": lambda x, tmp, i: 0.1 * x,
    "AAC 32k": _aac,
    "MP3 32k": lambda x, tmp, i: _aac(x, tmp, i, ".mp3"),
    "5% faster": lambda x, tmp, i: at_speed(x, 1.05),
    "5% slower": lambda x, tmp, i: at_speed(x, 0.95),
    "voice-over": lambda x, tmp, i: with_voice_over(x, speech(i)),
    "voice-over+AAC": lambda x, tmp, i: _aac(with_voice_over(x, speech(i)), tmp, i),
}


def _starts(songs: list[np.ndarray]) -> list[float]:
    """Where each song's excerpt starts: anywhere that leaves a whole excerpt."""
    rng = np.random.default_rng(17)
    return [float(rng.uniform(0, len(s) / AUDIO_RATE - EXCERPT_S - 1)) for s in songs]


def _speech() -> list[np.ndarray]:
    return [speech(i)[:int(EXCERPT_S * AUDIO_RATE)] for i in range(SPEECH)]


def _strength(indexes: dict[str, tuple[LandmarkIndex, bool]], samples: np.ndarray, want: int | None) -> dict[str, int]:
    """Per index: agreeing landmarks with the wanted reference (any reference, for unclaimed audio)."""
    clip = peaks(samples, AUDIO_RATE)
    out = {}
    for name, (index, warped) in indexes.items():
        hits = index.query(clip) if warped else index.query_warp(clip, (1.0, 1.0))
        out[name] = max((h.landmarks for h in hits if want is None or h.reference == want), default=0)
    return out


def _bar(unclaimed: list[int]) -> int:
    """The lowest bar that at most MAX_FALSE of the unclaimed excerpts reach."""
    ordered = sorted(unclaimed)
    return ordered[min(len(ordered) - 1, int(len(ordered) * (1 - MAX_FALSE)))] + 1


def _recall(strengths: list[int], bar: int) -> float:
    return sum(s >= bar for s in strengths) / len(strengths)


def _scale(query_song: Landmarks, density: float, rounds: int) -> dict:
    rng = np.random.default_rng(5)
    per_track = int(density * TRACK_S)
    frames = int(TRACK_S * FRAMES_PER_S)

    def tracks(n: int) -> list[Landmarks]:
        def field(low: int, high: int) -> np.ndarray:
            return rng.integers(low, high, (n, per_track), dtype=np.uint32)

        hashes = (field(0, 128) << 13) | (field(0, 64) << 6) | field(PAIR_FRAMES[0], PAIR_FRAMES[1])
        times = rng.integers(0, frames, (n, per_track), dtype=np.int32)
        return [Landmarks(h, t) for h, t in zip(hashes, times, strict=True)]

    small = LandmarkIndex.build([query_song, *tracks(SCALE[0] - 1)])
    large = LandmarkIndex.build([query_song, *tracks(SCALE[1] - 1)])
    clip = peaks(excerpt(song(0, SONG_S), 20, EXCERPT_S), AUDIO_RATE)
    return interleaved(timed_ms("ms per query", lambda: large.query(clip)),
                       timed_ms("ms per query", lambda: small.query(clip)),
                       (f"{SCALE[1]:,} tracks", f"{SCALE[0]:,} tracks"), rounds=rounds, say=say)


def _added_cost(tmp: Path, songs: list[np.ndarray], index: LandmarkIndex, rounds: int) -> dict:
    still = np.full((720, 1280, 3), 120, np.uint8)
    clips = [write_clip_with_audio(tmp / f"clip-{i}.mp4", still, excerpt(songs[i], 5, 10), fps=24)
             for i in range(4)]

    def music(path: Path) -> None:
        audio = decode_audio(path, MediaLimits())
        index.query(peaks(audio.samples, audio.rate))

    return interleaved(per_call(music, clips), per_call(lambda p: sample_frames(p, MediaLimits()), clips),
                       ("music family", "video decode+sample"), rounds=rounds, say=say)


def _report_recall(source: str, claimed: dict, unclaimed: list[dict], bars: dict, density: float) -> None:
    click.echo(f"music, {source}: {CLAIMED} claimed ({density:.0f} landmarks/s), {EXCERPT_S:.0f} s excerpts; "
               f"{UNCLAIMED} unclaimed + {SPEECH} utterances set each index's bar at <= {MAX_FALSE:.0%} false matches")
    for name in bars:
        strongest = max(u[name] for u in unclaimed)
        false = sum(u[name] >= bars[name] for u in unclaimed) / len(unclaimed)
        click.echo(f"  {name} index: bar {bars[name]} agreeing landmarks (unclaimed max {strongest}, "
                   f"{false:.1%} at the bar)")
    click.echo("  recall at each index's bar:  " + "  ".join(f"{n:>8s}" for n in bars))
    for edit, strengths in claimed.items():
        click.echo(f"    {edit:16s}" + "  ".join(f"{_recall([s[n] for s in strengths], bars[n]):8.0%}" for n in bars)
                   + "   median " + ", ".join(f"{n} {int(np.median([s[n] for s in strengths]))}" for n in bars))


def _report_comparisons(title: str, comparisons: dict) -> None:
    click.echo(title)
    for comparison in comparisons.values():
        click.echo(f"  {comparison.line(2)}")


def _report_policy(section: dict, claimed: dict, unclaimed: list[dict]) -> None:
    match, review = section["match_landmarks"], section["review_landmarks"]
    matched = sum(u["warped"] >= match for u in unclaimed) / len(unclaimed)
    reviewed = sum(review <= u["warped"] < match for u in unclaimed) / len(unclaimed)
    click.echo(f"music: the live policy's bars (match >= {match}, review >= {review}): unclaimed audio matched "
               f"{matched:.1%}, reviewed {reviewed:.1%}; claimed excerpts matched / at least reviewed:")
    for edit, strengths in claimed.items():
        click.echo(f"    {edit:16s}{_recall([s['warped'] for s in strengths], match):6.0%} / "
                   f"{_recall([s['warped'] for s in strengths], review):4.0%}")
