"""Tiny random-weight ONNX models shaped like insightface's: an SCRFD detector (3 strides, 2
anchors, keypoints) and an ArcFace recogniser (112 px in, 512-d out). They make no sense of
faces; they let the real `FaceAnalysis` loading, alignment and batching code run in tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DET_SIZE = 640
STRIDES = (8, 16, 32)
ANCHORS = 2


def _weights(rng: np.random.Generator, name: str, shape: tuple[int, ...], scale: float = 0.05,
             bias: float = 0.0) -> list[onnx.TensorProto]:
    return [numpy_helper.from_array((rng.normal(size=shape) * scale).astype(np.float32), f"{name}_w"),
            numpy_helper.from_array(np.full(shape[0], bias, np.float32), f"{name}_b")]


def detector(path: Path, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    nodes, inits, outputs = [], [], {"score": [], "bbox": [], "kps": []}
    for stride in STRIDES:
        # A negative score bias keeps the random detector to a handful of "faces" per picture.
        for part, width, bias in (("score", 1, -3.0), ("bbox", 4, 1.0), ("kps", 10, 0.0)):
            name = f"{part}_{stride}"
            inits += _weights(rng, name, (ANCHORS * width, 3, stride, stride), bias=bias)
            inits.append(numpy_helper.from_array(np.array([-1, width], np.int64), f"{name}_shape"))
            nodes += [helper.make_node("Conv", ["input.1", f"{name}_w", f"{name}_b"], [f"{name}_c"],
                                       kernel_shape=[stride, stride], strides=[stride, stride]),
                      helper.make_node("Transpose", [f"{name}_c"], [f"{name}_t"], perm=[0, 2, 3, 1]),
                      helper.make_node("Reshape", [f"{name}_t", f"{name}_shape"], [f"{name}_r"])]
            last = f"{name}_r"
            if part == "score":
                nodes.append(helper.make_node("Sigmoid", [last], [name]))
            elif part == "bbox":
                nodes.append(helper.make_node("Relu", [last], [name]))
            else:
                nodes.append(helper.make_node("Identity", [last], [name]))
            cells = (DET_SIZE // stride) ** 2 * ANCHORS
            outputs[part].append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [cells, width]))
    graph = helper.make_graph(nodes, "scrfd_standin",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, DET_SIZE, DET_SIZE])],
                              outputs["score"] + outputs["bbox"] + outputs["kps"], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    return path


def recogniser(path: Path, seed: int = 2) -> Path:
    rng = np.random.default_rng(seed)
    inits = [*_weights(rng, "conv", (16, 3, 8, 8)),
             numpy_helper.from_array(rng.normal(size=(16, 512)).astype(np.float32), "fc_w"),
             numpy_helper.from_array(np.zeros(512, np.float32), "fc_b")]
    nodes = [helper.make_node("Conv", ["input.1", "conv_w", "conv_b"], ["c"], kernel_shape=[8, 8], strides=[8, 8]),
             helper.make_node("GlobalAveragePool", ["c"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["683"])]
    graph = helper.make_graph(nodes, "arcface_standin",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, 112, 112])],
                              [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["N", 512])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    return path


def model_dir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    detector(folder / "det_standin.onnx")
    recogniser(folder / "w600k_standin.onnx")
    return folder
