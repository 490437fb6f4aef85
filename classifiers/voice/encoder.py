"""Resemblyzer's GE2E speaker encoder, run in numpy.

The `resemblyzer` wheel ships its trained weights (`pretrained.pt`, Apache-2.0) but needs torch
to run them, and torch from PyPI is a CUDA build of several GB. The network is small, so it runs
here without torch: a 40-band mel spectrogram (librosa's, re-derived), three LSTM layers of 256
and a linear layer with ReLU, L2-normalised. The weights file is torch's legacy serialisation (a
sequence of pickles, then raw storages), which `_torch_legacy_load` reads without torch.

    speech at 16 kHz -> mel frames (25 ms / 10 ms) -> partials of 160 frames (1.6 s)
        -> LSTM x3 -> last hidden state -> linear, ReLU, L2 -> one 256-d vector per partial
"""

from __future__ import annotations

import hashlib
import importlib.util
import pickle
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

RATE = 16_000
WINDOW = 400            # 25 ms
HOP = 160               # 10 ms
MELS = 40
PARTIAL_FRAMES = 160    # 1.6 s: what the encoder was trained on
HIDDEN = 256
LAYERS = 3


def weights_path() -> Path:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the voice family needs the resemblyzer wheel's weights (make installs it)")
    return Path(spec.submodule_search_locations[0]) / "pretrained.pt"


class VoiceEncoder:
    name = "ge2e-resemblyzer"

    def __init__(self, path: Path | None = None):
        path = path or weights_path()
        state = _torch_legacy_load(path)["model_state"]
        # torch's own (4H, in) layout: the recurrence runs on states held as columns, (H, batch),
        # where OpenBLAS multiplies a few columns twice as fast as a few rows.
        self._layers = [(state[f"lstm.weight_ih_l{k}"].T.copy(), state[f"lstm.weight_hh_l{k}"].copy(),
                         state[f"lstm.bias_ih_l{k}"] + state[f"lstm.bias_hh_l{k}"]) for k in range(LAYERS)]
        self._linear = (state["linear.weight"].T.copy(), state["linear.bias"])
        self.version = f"{self.name}/sha256:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"

    def embed_partials(self, mels: np.ndarray) -> np.ndarray:
        """(partials, PARTIAL_FRAMES, MELS) -> (partials, 256), each row L2-normalised."""
        x = mels.astype(np.float32)
        batch, steps = x.shape[:2]
        h = np.zeros((HIDDEN, batch), np.float32)
        for w_ih, w_hh, bias in self._layers:
            # The input projection of every step at once; only the recurrence is stepwise.
            projected = (x.reshape(-1, x.shape[2]) @ w_ih + bias).reshape(batch, steps, 4 * HIDDEN).transpose(1, 2, 0)
            h = np.zeros((HIDDEN, batch), np.float32)
            c = np.zeros((HIDDEN, batch), np.float32)
            outputs = np.empty((steps, HIDDEN, batch), np.float32)
            for t in range(steps):
                gates = projected[t] + w_hh @ h
                i, f, g, o = gates[:HIDDEN], gates[HIDDEN:2 * HIDDEN], gates[2 * HIDDEN:3 * HIDDEN], gates[3 * HIDDEN:]
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)     # torch's gate order: i, f, g, o
                h = _sigmoid(o) * np.tanh(c)
                outputs[t] = h
            x = outputs.transpose(2, 0, 1)
        h = h.T
        weight, bias = self._linear
        raw = np.maximum(h @ weight + bias, 0.0)
        return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40) as the
    encoder was trained on it (power spectrum, Slaney mel bands, centred frames), frames first."""
    padded = np.pad(samples.astype(np.float32), WINDOW // 2, mode="reflect" if len(samples) > WINDOW else "constant")
    count = 1 + (len(padded) - WINDOW) // HOP
    frames = np.lib.stride_tricks.as_strided(padded, (count, WINDOW), (padded.strides[0] * HOP, padded.strides[0]))
    power = np.abs(np.fft.rfft(frames * _hann(), axis=1)) ** 2
    return (power @ _mel_bank().T).astype(np.float32)


@cache
def _hann() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)).astype(np.float32)   # periodic


@cache
def _mel_bank() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): Slaney's mel scale and area norm."""
    def to_mel(hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, np.float64)
        linear = hz / (200.0 / 3)
        return np.where(hz >= 1000, 15 + np.log(np.maximum(hz, 1e-10) / 1000) / (np.log(6.4) / 27), linear)

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return np.where(mel >= 15, 1000 * np.exp((np.log(6.4) / 27) * (mel - 15)), mel * (200.0 / 3))

    fft_hz = np.linspace(0, RATE / 2, WINDOW // 2 + 1)
    edges = to_hz(np.linspace(to_mel(0.0), to_mel(RATE / 2), MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    bank = np.maximum(0, np.minimum(lower, upper))
    return (bank * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


# --- torch's legacy checkpoint format, without torch -------------------------------------------

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64,
           "IntStorage": np.int32, "HalfStorage": np.float16, "ByteStorage": np.uint8}


class _StorageType:
    def __init__(self, name: str):
        if name not in _DTYPES:
            raise ValueError(f"unsupported tensor storage {name}")
        self.dtype = _DTYPES[name]


def _rebuild_tensor(storage: dict[str, Any], offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_: Any) -> dict[str, Any]:
    # Storages come after the pickle, so a tensor is a view to take once they are read.
    return {"storage": storage, "offset": offset, "size": tuple(size), "stride": tuple(stride)}


class _Unpickler(pickle.Unpickler):
    """Only what a state dict holds: tensors, their storages, an OrderedDict; nothing runs."""

    def __init__(self, file: Any, storages: dict[str, dict[str, Any]]):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a weights file")

    def persistent_load(self, pid: tuple[Any, ...]) -> dict[str, Any]:
        kind, storage_type, key, _location, size = pid[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        return self._storages.setdefault(key, {"dtype": storage_type.dtype, "size": size, "data": None})


def _torch_legacy_load(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        if pickle.load(file) != _LEGACY_MAGIC:
            raise ValueError(f"{path.name} is not a legacy torch checkpoint")
        pickle.load(file)    # protocol version
        pickle.load(file)    # sys info
        storages: dict[str, dict[str, Any]] = {}
        result = _Unpickler(file, storages).load()
        for key in pickle.load(file):
            storage = storages[key]
            count = int(np.frombuffer(file.read(8), "<i8")[0])
            storage["data"] = np.frombuffer(file.read(count * np.dtype(storage["dtype"]).itemsize), storage["dtype"])
    return _materialise(result)


def _materialise(value: Any) -> Any:
    if isinstance(value, dict) and "storage" in value and "stride" in value:
        data = value["storage"]["data"]
        itemsize = data.itemsize
        return np.lib.stride_tricks.as_strided(data[value["offset"]:], value["size"],
                                               tuple(s * itemsize for s in value["stride"])).copy()
    if isinstance(value, dict):
        return {k: _materialise(v) for k, v in value.items()}
    return value
