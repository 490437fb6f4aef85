"""open_nsfw in int8 against the shipped float32 model: what quantisation saves, and how far it
moves the scores (issue 21's lever for the explicit family).

Two quantisations of the bundled model, both with onnxruntime's quantiser, written to a
temporary folder and never shipped:
- dynamic: weights in uint8, activations quantised per call (ConvInteger);
- static: QDQ, int8 weights per channel, uint8 activations with ranges calibrated on benign
  frames (every second shared calibration cartoon, the first CALIBRATION of them, and four
  package images). The model is first moved to opset 13, which per-channel QDQ needs.

Explicit media is neither committed nor generated, so the drift is measured on benign frames
only: the package images and the cartoons not used for calibration. That is also the limit of
this measurement: static ranges calibrated on benign frames alone may clip the activations that
explicit frames produce, which no benign frame can show.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import click
import numpy as np

from bench.compare import MIN_ROUNDS, Comparison, Measure, interleaved, timed_ms
from bench.results import say
from classifiers.explicit.handler import open_nsfw_inputs, open_nsfw_path
from fixtures.clips import IMAGES, image
from fixtures.feed import calibration_cartoons

CALIBRATION = 40
BATCH = 12              # about one 10 s clip's sampled frames
BATCHES_A_ROUND = 10


def int8_against_float(review_bar: float, rounds: int = MIN_ROUNDS) -> tuple[dict, dict[str, Comparison]]:
    import onnxruntime as ort

    cartoons = calibration_cartoons()
    package = [image(name) for name in IMAGES]
    calibrate, held_out = cartoons[::2][:CALIBRATION] + package[:4], cartoons[1::2]
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"float32": open_nsfw_path(), **_quantised(Path(tmp), calibrate)}
        sessions = {name: ort.InferenceSession(path, providers=["CPUExecutionProvider"])
                    for name, path in paths.items()}
    batch = open_nsfw_inputs(held_out[:BATCH])

    def batches(session) -> Measure:
        return timed_ms("ms_per_batch", lambda: [_run(session, batch) for _ in range(BATCHES_A_ROUND)], BATCHES_A_ROUND)

    speed = {name: interleaved(batches(sessions[name]), batches(sessions["float32"]),
                               (name, "float32"), rounds=rounds, say=say)["ms_per_batch"]
             for name in ("dynamic", "static")}
    scores = {name: {"package": _scores(s, package), "held_out": _scores(s, held_out)} for name, s in sessions.items()}
    drift = {name: {kind: _drift(scores[name][kind], scores["float32"][kind], review_bar) for kind in scores[name]}
             for name in ("dynamic", "static")}
    return {"held_out": len(held_out), "package": len(package), "drift": drift,
            "speed": {k: c.to_dict() for k, c in speed.items()}}, speed


def _quantised(folder: Path, calibrate: Sequence[np.ndarray]) -> dict[str, str]:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    converted = version_converter.convert_version(onnx.load(open_nsfw_path()), 13)
    opset13 = str(folder / "opset13.onnx")
    onnx.save(converted, opset13)
    name = converted.graph.input[0].name

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self._inputs = iter({name: open_nsfw_inputs([f])} for f in calibrate)

        def get_next(self) -> dict | None:
            return next(self._inputs, None)

    paths = {"dynamic": str(folder / "dynamic.onnx"), "static": str(folder / "static.onnx")}
    quantize_dynamic(opset13, paths["dynamic"], weight_type=QuantType.QUInt8)
    quantize_static(opset13, paths["static"], Frames(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return paths


def _run(session, inputs: np.ndarray) -> np.ndarray:
    return session.run(None, {session.get_inputs()[0].name: inputs})[0][:, 1]


def _scores(session, frames: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([_run(session, open_nsfw_inputs(frames[i:i + BATCH])) for i in range(0, len(frames), BATCH)])


def _drift(quantised: np.ndarray, reference: np.ndarray, review_bar: float) -> dict:
    moved = np.abs(quantised - reference)
    return {"max": round(float(moved.max()), 4), "median": round(float(np.median(moved)), 4),
            "over_review": int((quantised >= review_bar).sum()),
            "over_review_float32": int((reference >= review_bar).sum())}


def print_int8(result: dict, speed: dict[str, Comparison], review_bar: float) -> None:
    for name, comparison in speed.items():
        click.echo(f"int8 {name}: {comparison.line(1)}")
        for kind, d in result["drift"][name].items():
            click.echo(f"  {kind} ({result[kind]} frames): score moved by at most {d['max']:.4f} "
                       f"(median {d['median']:.4f}); frames at the review bar {review_bar}: {d['over_review']} "
                       f"against float32's {d['over_review_float32']}")
