"""SavedModel -> LiteRT (.tflite) in float32, float16 and int8; running .tflite files.

The converter reads a SavedModel written by Keras 3's `model.export` (converting the output of
`tf.saved_model.save` was seen to give NaN outputs). Models run with `ai_edge_litert`'s
interpreter, the runtime phones use (`tf.lite.Interpreter` is deprecated, and its default
XNNPACK delegate gave wrong int8 results on this machine).

int8 is post-training integer quantization calibrated on real training windows, with float
input and output so that phone code is the same for every format. Weights (per channel) and
activations are int8 except in four places that keep float weights and compute, because
measured output errors are largest there: the first convolution,
which reads raw sensor values whose channels mix units (g next to deg/s, hundreds of times
larger) so that one int8 input scale erases the small channels; the LayerNorms, whose variance
and reciprocal square root have wide ranges that the normalization amplifies; the attention
blocks (query, key, value, softmax, output), where errors in the attention logits are
exponentiated; and the final logits layer and softmax, where int8 probabilities in steps of
1/256 flatten every small probability. The convolutions after the first, the feed-forward
layers, residual additions, pooling and the classifier's hidden layers, most of the weights
and multiply-adds of the model, run in int8.

int8_full is the fully integer model a microcontroller runtime can take: every operator int8
(`float_operators(content, strict=True)` lists none), int8 input and output, one batch of one
window. Its input is the standardized window (x - mean) / std per channel, quantized with the
input tensor's scale and zero point: one scale for raw channels in mixed units would erase the
small ones. `LiteRTModel(..., standardization=(mean, std))` feeds it like the others.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

FORMATS = ("float32", "float16", "int8", "int8_full")
DEFAULT_FORMATS = ("float32", "float16", "int8")  # int8_full is asked for by name.
INTEGER_FORMATS = ("int8_full",)  # Integer input and output, standardized input.


def operators(model_content: bytes) -> list[tuple[str, str]]:
    """(operator type, first output tensor name) of each operator of a .tflite, in order."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_content), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.subgraphs[0]
    out = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        kind = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
        out.append((kind, graph.tensors[op.outputs[0]].name.decode()))
    return out


def float_operators(model_content: bytes, strict: bool = False) -> dict[str, int]:
    """{operator type: count} of the operators that compute in float.

    Default: those whose output is float32, less the ones that only move or convert values
    (DEQUANTIZE, RESHAPE, PAD, ...). strict: every operator reading or writing a float tensor
    (float32 or float16), QUANTIZE and DEQUANTIZE included: none in a fully integer model.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_content), 0)
    graph = model.subgraphs[0]
    floats = (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16)
    counts: dict[str, int] = {}
    for (kind, _), op in zip(operators(model_content), graph.operators, strict=True):
        if strict:
            tensors = [graph.tensors[i] for i in [*op.inputs, *op.outputs] if i >= 0]
            is_float = any(t.type in floats for t in tensors)
        else:
            is_float = graph.tensors[op.outputs[0]].type == schema.TensorType.FLOAT32 and (
                kind not in ("DEQUANTIZE", "RESHAPE", "PAD", "EXPAND_DIMS", "SQUEEZE",
                             "TRANSPOSE"))
        if is_float:
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def _scopes(ops: list[tuple[str, str]], marker) -> tuple[str, ...]:
    """Name scopes ('.../layer_1/') of the operators for which `marker(kind, name)` holds."""
    return tuple({name.split(";")[0].rsplit("/", 1)[0] + "/"
                  for kind, name in ops if marker(kind, name.split(";")[0])})


def _int8_float_nodes(calibrated: bytes) -> list[str]:
    """Output names of the operators that the int8 model keeps in float: everything up to the
    first convolution, every LayerNorm (the name scopes of RSQRT operators), every
    attention block (the scopes of BATCH_MATMUL operators: query, key, value, softmax, output
    projection) and everything from the last dense layer on (logits and softmax)."""
    ops = operators(calibrated)
    kinds = [kind for kind, _ in ops]
    if "CONV_2D" not in kinds or "FULLY_CONNECTED" not in kinds:
        return []
    first_conv = kinds.index("CONV_2D")
    last_dense = len(kinds) - 1 - kinds[::-1].index("FULLY_CONNECTED")
    scopes = (_scopes(ops, lambda kind, name: kind == "RSQRT")
              + _scopes(ops, lambda kind, name: kind == "BATCH_MATMUL"))
    inner = [name for _, name in ops[first_conv + 1 : last_dense]
             if name.split(";")[0].startswith(scopes)]
    return [name for _, name in ops[: first_conv + 1] + ops[last_dense:]] + inner


def convert(saved_model_dir: str | Path, fmt: str,
            calibration_windows: np.ndarray | None = None) -> bytes:
    """A .tflite flatbuffer of the SavedModel's serving signature in format `fmt`.

    float32: as trained; float16: float16 weights, float compute; int8: int8 weights and
    activations calibrated on `calibration_windows` (N, T, C) float32, float input and output;
    int8_full: every operator int8 (the converter may only use int8 kernels), int8 input and
    output, calibrated on `calibration_windows` (standardized ones: see the module docstring).
    """
    import tensorflow as tf

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if fmt == "float32":
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if fmt == "float16":
        converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    if calibration_windows is None or len(calibration_windows) == 0:
        raise ValueError("int8 conversion needs calibration windows (N, T, C), got none")
    windows = np.asarray(calibration_windows, np.float32)

    def representative() -> Iterator[list[np.ndarray]]:
        for window in windows:
            yield [window[None]]

    converter.representative_dataset = representative
    if fmt in INTEGER_FORMATS:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
        return converter.convert()
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                           tf.lite.OpsSet.TFLITE_BUILTINS]
    with warnings.catch_warnings():  # The debugger builds a (deprecated) tf.lite.Interpreter.
        warnings.simplefilter("ignore")
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=lambda: iter(()))
        debugger.options = tf.lite.experimental.QuantizationDebugOptions(
            denylisted_nodes=_int8_float_nodes(debugger.calibrated_model))
        return debugger.get_nondebug_quantized_model()


class LiteRTModel:
    """A .tflite classifier run with ai_edge_litert, one window at a time as on a phone.

    `predict(windows)`: (N, T, C) float32 -> (N, K) float32 outputs. A model with int8 input
    and output (int8_full) is fed as its metadata says: each window standardized with
    `standardization` = (mean (C,), std (C,)), then quantized with the input tensor's scale
    and zero point; its int8 outputs are dequantized. Float models ignore `standardization`
    (theirs, if any, is inside the graph).
    """

    def __init__(self, model: str | Path | bytes, num_threads: int | None = None,
                 standardization: tuple[np.ndarray, np.ndarray] | None = None):
        from ai_edge_litert.interpreter import Interpreter

        source = {"model_content": model} if isinstance(model, bytes) else {
            "model_path": str(model)}
        self.interpreter = Interpreter(**source, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        (self._input,) = self.interpreter.get_input_details()
        (self._output,) = self.interpreter.get_output_details()
        name = model if not isinstance(model, bytes) else "model"
        dtypes = (self._input["dtype"], self._output["dtype"])
        if dtypes not in ((np.float32, np.float32), (np.int8, np.int8)):
            raise ValueError(f"{name}: expected float32 or int8 input and output, got "
                             f"{dtypes[0].__name__} and {dtypes[1].__name__}")
        self.integer_io = dtypes[0] == np.int8
        if self.integer_io and standardization is None:
            raise ValueError(f"{name} takes standardized int8 windows: give the "
                             "standardization (mean, std) of its metadata.json")
        self.standardization = (None if standardization is None or not self.integer_io else
                                tuple(np.asarray(v, np.float32) for v in standardization))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """(1, T, C): one window."""
        return tuple(int(d) for d in self._input["shape"])

    @property
    def num_outputs(self) -> int:
        return int(self._output["shape"][-1])

    def quantization(self, which: str = "input") -> tuple[float, int]:
        """(scale, zero point) of the model's input or output tensor; (0.0, 0) when float."""
        scale, zero_point = (self._input if which == "input" else self._output)["quantization"]
        return float(scale), int(zero_point)

    def predict_one(self, window: np.ndarray) -> np.ndarray:
        """(T, C) -> (K,)."""
        x = np.asarray(window, np.float32)
        if self.integer_io:
            mean, std = self.standardization
            scale, zero_point = self.quantization("input")
            x = np.clip(np.round((x - mean) / std / scale) + zero_point, -128, 127)
        self.interpreter.set_tensor(self._input["index"], x.astype(self._input["dtype"])[None])
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self._output["index"])[0].copy()
        if self.integer_io:
            scale, zero_point = self.quantization("output")
            return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)
        return y

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """(N, T, C) -> (N, K)."""
        outputs = [self.predict_one(w) for w in windows]
        return np.stack(outputs) if outputs else np.zeros((0, self.num_outputs), np.float32)


MAX_FLOAT32_DIFF = 1e-4  # Largest |TFLite float32 - Keras| probability allowed.
MIN_INT8_AGREEMENT = 0.98  # Share of test windows whose int8 top-1 class is Keras' one.
MAX_INT8_ACCURACY_LOSS = 0.01  # Accuracy the int8 model may lose against Keras.


def check_formats(folder: Path, formats: tuple[str, ...], windows: np.ndarray,
                  labels: np.ndarray, keras_probabilities: np.ndarray,
                  standardization: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Run each folder/model_<format>.tflite with LiteRT on `windows` (N, T, C) and compare
    with Keras' (N, K) probabilities: max |difference|, top-1 agreement and accuracy. int8 and
    int8_full share the limits; int8_full (fed with `standardization`) must also have no float
    operator left.

    Returns the report; its `failures` list says which format broke which limit.
    """
    keras_top1 = keras_probabilities.argmax(1)
    keras_accuracy = float(np.mean(keras_top1 == labels))
    report = {"num_test_windows": len(labels), "keras_accuracy": keras_accuracy,
              "limits": {"float32_max_abs_diff": MAX_FLOAT32_DIFF,
                         "int8_min_top1_agreement": MIN_INT8_AGREEMENT,
                         "int8_max_accuracy_loss": MAX_INT8_ACCURACY_LOSS},
              "formats": {}, "failures": []}
    for fmt in formats:
        path = Path(folder) / f"model_{fmt}.tflite"
        probabilities = LiteRTModel(path, standardization=standardization).predict(windows)
        top1 = probabilities.argmax(1)
        row = {"file": path.name, "size_bytes": path.stat().st_size,
               "max_abs_diff": float(np.max(np.abs(probabilities - keras_probabilities))),
               "top1_agreement": float(np.mean(top1 == keras_top1)),
               "accuracy": float(np.mean(top1 == labels))}
        if fmt.startswith("int8"):
            row["float_operators"] = float_operators(path.read_bytes(),
                                                     strict=fmt in INTEGER_FORMATS)
        report["formats"][fmt] = row
        report["failures"] += _failures(fmt, row, keras_accuracy, len(labels))
        if not np.all(np.isfinite(probabilities)):
            report["failures"].append(f"{fmt}: non-finite outputs")
    return report


def _failures(fmt: str, row: dict, keras_accuracy: float, num_windows: int) -> list[str]:
    """The limits a format's report row breaks, one sentence each."""
    failures = []
    if fmt == "float32" and not row["max_abs_diff"] <= MAX_FLOAT32_DIFF:
        failures.append(f"float32: max |TFLite - Keras| = {row['max_abs_diff']:.3g} > "
                        f"{MAX_FLOAT32_DIFF:g}")
    if not fmt.startswith("int8"):
        return failures
    if row["top1_agreement"] < MIN_INT8_AGREEMENT:
        failures.append(
            f"{fmt}: top-1 agreement with float32 Keras {row['top1_agreement']:.4f} < "
            f"{MIN_INT8_AGREEMENT} on {num_windows} test windows (int8 noise flips the "
            "windows whose two best classes are nearly tied: a longer-trained, more "
            "confident model passes; or export without int8: --formats float32,float16)")
    if row["accuracy"] < keras_accuracy - MAX_INT8_ACCURACY_LOSS:
        failures.append(
            f"{fmt}: test accuracy {row['accuracy']:.4f} is more than "
            f"{MAX_INT8_ACCURACY_LOSS:.0%} below float32 Keras' {keras_accuracy:.4f}")
    if fmt in INTEGER_FORMATS and row["float_operators"]:
        failures.append(f"{fmt}: float operators left {row['float_operators']}; a fully "
                        "integer model has none")
    return failures
