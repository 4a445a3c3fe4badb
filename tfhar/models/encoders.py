"""Encoders of the paper: CNN + transformer for inertial windows, HCN for skeleton sequences.

Both builders return functional `keras.Model`s mapping one modality's batch to float features
(B, F). Architecture facts follow the authors' public code (razzu/cmc-cmkm): see
/work/shared/REFERENCE.md, "Encoders".
"""

import math
from collections.abc import Sequence

import keras
from keras import ops

# PyTorch's BatchNorm defaults (the authors' framework): momentum 0.1 there is 0.9 here.
BATCH_NORM_MOMENTUM = 0.9
BATCH_NORM_EPSILON = 1e-5
REDUCTIONS = ("flatten", "mean", "max")


@keras.saving.register_keras_serializable(package="tfhar")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` that trains with TensorFlow's fused kernel.

    Keras 3 computes training-mode batch normalization from separate moment, normalization and
    gradient ops; on (B, T, C) and (B, H, W, C) inputs this layer calls one FusedBatchNormV3
    instead, which made the HCN encoder's training step about 17% faster on a 2-core CPU. Same
    variables, arguments and inference path as the Keras layer (so weights load either way).
    The moving variance is updated with the unbiased batch variance, as PyTorch (the authors'
    framework) does; Keras uses the biased one. Other cases (2D inputs, a mask, renorm, an
    axis other than the last, another backend) use the Keras computation.
    """

    def _fusable(self, inputs, mask) -> bool:
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and self.center
            and self.scale
            and len(inputs.shape) in (3, 4)
            and self.axis in (-1, len(inputs.shape) - 1)
        )

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = tf.cast(inputs, "float32")  # As Keras does: statistics in float32.
        shape = tf.shape(x)
        if len(inputs.shape) == 3:
            x = tf.expand_dims(x, 2)  # (B, T, C) -> (B, T, 1, C): NHWC for the fused op.
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, self.gamma, self.beta, epsilon=self.epsilon, is_training=True,
            exponential_avg_factor=1.0,
        )
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
        )
        return tf.cast(tf.reshape(outputs, shape), self.compute_dtype)


def batch_norm(name: str) -> keras.layers.BatchNormalization:
    """A (fused) BatchNormalization layer with PyTorch's momentum and epsilon."""
    return FusedBatchNormalization(
        momentum=BATCH_NORM_MOMENTUM, epsilon=BATCH_NORM_EPSILON, name=name
    )


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


@keras.saving.register_keras_serializable(package="tfhar")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """Adds the sinusoidal position encoding of Vaswani et al. (2017) to (B, T, d) sequences.

    Even features get sin(t / max_wavelength^(i/d)), odd features the matching cosine, as in
    the PyTorch word-language-model example that the authors' code uses.
    """

    def __init__(self, max_wavelength: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        if not max_wavelength > 0:
            raise ValueError(f"max_wavelength must be positive, got {max_wavelength!r}")
        self.max_wavelength = float(max_wavelength)

    def build(self, input_shape):
        if input_shape[-1] is None or input_shape[-1] % 2:
            raise ValueError(
                f"SinusoidalPositionalEncoding needs an even feature size, got shape "
                f"{tuple(input_shape)}"
            )
        super().build(input_shape)

    def call(self, inputs):
        length, depth = ops.shape(inputs)[1], inputs.shape[-1]
        positions = ops.cast(ops.arange(length), "float32")[:, None]
        frequencies = ops.exp(
            ops.cast(ops.arange(0, depth, 2), "float32") * (-math.log(self.max_wavelength) / depth)
        )
        angles = positions * frequencies[None, :]  # (T, d / 2)
        encoding = ops.reshape(
            ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (length, depth)
        )
        return inputs + ops.cast(encoding, inputs.dtype)[None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}


@keras.saving.register_keras_serializable(package="tfhar")
class TransformerEncoderLayer(keras.layers.Layer):
    """Post-LayerNorm transformer encoder layer, like PyTorch's `nn.TransformerEncoderLayer`.

    x = LN(x + Dropout(MHA(x, x))); x = LN(x + Dropout(Dense(Dropout(ReLU(Dense(x)))))).
    Input and output (B, T, d_model); d_model is read from the input and must be divisible by
    `num_heads` (key_dim = d_model / num_heads).
    """

    def __init__(
        self,
        num_heads: int,
        feedforward_dim: int,
        dropout: float = 0.1,
        layer_norm_epsilon: float = 1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_positive_int("num_heads", num_heads)
        _check_positive_int("feedforward_dim", feedforward_dim)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.num_heads, self.feedforward_dim = num_heads, feedforward_dim
        self.dropout, self.layer_norm_epsilon = float(dropout), float(layer_norm_epsilon)
        self.attention_dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.feedforward_dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.output_dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        model_dim = input_shape[-1]
        if model_dim is None or model_dim % self.num_heads:
            raise ValueError(
                f"TransformerEncoderLayer: feature size {model_dim} is not divisible by "
                f"num_heads={self.num_heads}"
            )
        policy = self.dtype_policy
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads,
            model_dim // self.num_heads,
            dropout=self.dropout,
            dtype=policy,
            name="attention",
        )
        self.attention.build(input_shape, input_shape)
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="attention_norm"
        )
        self.attention_norm.build(input_shape)
        self.feedforward_in = keras.layers.Dense(
            self.feedforward_dim, activation="relu", dtype=policy, name="feedforward_in"
        )
        self.feedforward_in.build(input_shape)
        self.feedforward_out = keras.layers.Dense(model_dim, dtype=policy, name="feedforward_out")
        self.feedforward_out.build((*input_shape[:-1], self.feedforward_dim))
        self.output_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="output_norm"
        )
        self.output_norm.build(input_shape)
        if not self.trainable:  # A frozen layer (e.g. deserialized) freezes what build adds.
            for layer in self._layers:
                layer.trainable = False
        super().build(input_shape)

    def call(self, inputs, training=None):
        attended = self.attention(inputs, inputs, training=training)
        x = self.attention_norm(inputs + self.attention_dropout(attended, training=training))
        hidden = self.feedforward_dropout(self.feedforward_in(x), training=training)
        return self.output_norm(
            x + self.output_dropout(self.feedforward_out(hidden), training=training)
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "feedforward_dim": self.feedforward_dim,
            "dropout": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
        }


@keras.saving.register_keras_serializable(package="tfhar")
class TemporalDifference(keras.layers.Layer):
    """Motion stream of HCN: x[t] - x[t-1] along axis 1, with the first frame zero."""

    def call(self, inputs):
        return ops.concatenate([ops.zeros_like(inputs[:, :1]), inputs[:, 1:] - inputs[:, :-1]], 1)

    def compute_output_shape(self, input_shape):
        return input_shape


def inertial_output_length(
    window_length: int, num_convolutions: int, kernel_size: int, padding: int
) -> int:
    """Time steps T' left by the convolutions: T - n * (kernel_size - 1 - 2 * padding)."""
    return window_length - num_convolutions * (kernel_size - 1 - 2 * padding)


def build_inertial_encoder(
    window_length: int = 50,
    num_channels: int = 6,
    filters: Sequence[int] = (32, 64, 128),
    kernel_size: int = 5,
    num_heads: int = 2,
    num_layers: int = 2,
    feedforward_dim: int = 2048,
    dropout: float = 0.1,
    reduction: str = "flatten",
    padding: int = 1,
    name: str = "inertial_encoder",
) -> keras.Model:
    """CNN + transformer inertial encoder of CSSHAR (Khaertdinov et al., IJCB 2021).

    (B, window_length, num_channels) -> [zero-pad `padding` steps each side -> Conv1D (valid)
    -> BatchNorm -> ReLU] per entry of `filters` -> sinusoidal positions + dropout ->
    `num_layers` transformer encoder layers -> reduction. The authors pad 1 step whatever the
    kernel, so T' = T - 3 * (kernel_size - 3): 44 at kernel 5 (flatten: 44 * 128 = 5632
    features), 50 at kernel 3. Output (B, T' * filters[-1]) for "flatten", (B, filters[-1])
    for "mean" / "max" pooling over time.
    """
    for arg_name, value in [
        ("window_length", window_length),
        ("num_channels", num_channels),
        ("kernel_size", kernel_size),
        ("num_heads", num_heads),
        ("feedforward_dim", feedforward_dim),
    ]:
        _check_positive_int(arg_name, value)
    filters = tuple(filters)
    if not filters:
        raise ValueError("filters must list at least one convolution, got ()")
    for value in filters:
        _check_positive_int("every entry of filters", value)
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 0:
        raise ValueError(f"num_layers must be a non-negative integer, got {num_layers!r}")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if filters[-1] % num_heads or filters[-1] % 2:
        raise ValueError(
            f"the last entry of filters ({filters[-1]}) is the transformer width: it must be even "
            f"and divisible by num_heads={num_heads}"
        )
    output_length = inertial_output_length(window_length, len(filters), kernel_size, padding)
    if output_length < 1:
        raise ValueError(
            f"window_length={window_length} is too short for {len(filters)} convolutions of "
            f"kernel_size={kernel_size} with padding={padding} (T' = {output_length})"
        )

    inputs = keras.Input((window_length, num_channels), name="inertial")
    x = inputs
    for index, num_filters in enumerate(filters, start=1):
        x = keras.layers.ZeroPadding1D(padding, name=f"pad{index}")(x)
        x = keras.layers.Conv1D(num_filters, kernel_size, name=f"conv{index}")(x)
        x = batch_norm(f"bn{index}")(x)
        x = keras.layers.ReLU(name=f"relu{index}")(x)
    x = SinusoidalPositionalEncoding(name="positional_encoding")(x)
    x = keras.layers.Dropout(dropout, name="positional_dropout")(x)
    for index in range(1, num_layers + 1):
        x = TransformerEncoderLayer(
            num_heads, feedforward_dim, dropout, name=f"transformer{index}"
        )(x)
    if reduction == "flatten":
        x = keras.layers.Flatten(name="flatten")(x)
    elif reduction == "mean":
        x = keras.layers.GlobalAveragePooling1D(name="mean_pool")(x)
    else:
        x = keras.layers.GlobalMaxPooling1D(name="max_pool")(x)
    return keras.Model(inputs, x, name=name)


def _pooled(length: int) -> int:
    """Length after a 3-wide valid convolution and a 2-wide max pool."""
    return (length - 2) // 2


def skeleton_output_length(window_length: int) -> int:
    """Time steps left before HCN's global pooling (1 at 50 frames; needs window_length >= 48)."""
    return _pooled(_pooled(_pooled(_pooled(window_length - 2))))


def build_skeleton_encoder(
    window_length: int = 50,
    num_joints: int = 20,
    num_coords: int = 3,
    output_dim: int = 256,
    name: str = "skeleton_encoder",
) -> keras.Model:
    """Co-occurrence network (HCN, Li et al., IJCAI 2018), dropout removed, BN after each conv.

    (B, T, J, D) -> (B, output_dim). Two streams (positions; motions = frame differences with
    the first frame zero), each: 1x1 conv 64 + BN + ReLU; (3, 1) conv 32 + BN; joints moved to
    channels, (B, T-2, 32, J); 3x3 conv 32 + BN + max-pool 2; 3x3 conv 64 + BN + max-pool 2.
    As in the authors' code, the streams are concatenated along the former-feature axis (not
    the channels), then 3x3 conv 128 + BN + ReLU + pool 2 and 3x3 conv `output_dim` + BN + ReLU
    + pool 2. All convolutions are valid, so at T = 50 the map is 1 x 1 and the final global
    max pool equals the authors' flatten; longer windows are pooled over the remaining steps.
    """
    for arg_name, value in [
        ("window_length", window_length),
        ("num_joints", num_joints),
        ("num_coords", num_coords),
        ("output_dim", output_dim),
    ]:
        _check_positive_int(arg_name, value)
    if skeleton_output_length(window_length) < 1:
        raise ValueError(
            f"window_length must be at least 48 frames for the HCN skeleton encoder, "
            f"got {window_length}"
        )

    inputs = keras.Input((window_length, num_joints, num_coords), name="skeleton")
    streams = {"position": inputs, "motion": TemporalDifference(name="motion")(inputs)}
    for stream, x in streams.items():
        x = keras.layers.Conv2D(64, 1, name=f"{stream}_conv1")(x)
        x = keras.layers.ReLU(name=f"{stream}_relu1")(batch_norm(f"{stream}_bn1")(x))
        x = keras.layers.Conv2D(32, (3, 1), name=f"{stream}_conv2")(x)
        x = batch_norm(f"{stream}_bn2")(x)
        x = keras.layers.Permute((1, 3, 2), name=f"{stream}_joints_to_channels")(x)
        for index, num_filters in [(3, 32), (4, 64)]:
            x = keras.layers.Conv2D(num_filters, 3, name=f"{stream}_conv{index}")(x)
            x = batch_norm(f"{stream}_bn{index}")(x)
            x = keras.layers.MaxPooling2D(2, name=f"{stream}_pool{index}")(x)
        streams[stream] = x
    x = keras.layers.Concatenate(axis=2, name="fuse_streams")(list(streams.values()))
    for index, num_filters in [(5, 128), (6, output_dim)]:
        x = keras.layers.Conv2D(num_filters, 3, name=f"conv{index}")(x)
        x = keras.layers.ReLU(name=f"relu{index}")(batch_norm(f"bn{index}")(x))
        x = keras.layers.MaxPooling2D(2, name=f"pool{index}")(x)
    outputs = keras.layers.GlobalMaxPooling2D(name="global_max_pool")(x)
    return keras.Model(inputs, outputs, name=name)
