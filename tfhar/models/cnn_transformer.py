"""The inertial encoder: CNN + transformer of CSSHAR (Khaertdinov et al., IJCB 2021).

Architecture facts follow the authors' public code (razzu/cmc-cmkm); see REFERENCE.md in the
project's shared folder, "Encoders".
"""

from collections.abc import Sequence

import keras

from tfhar.models.layers import SinusoidalPositionalEncoding, TransformerEncoderLayer, batch_norm
from tfhar.validation import check_fraction, check_int

REDUCTIONS = ("flatten", "mean", "max")


def inertial_output_length(
    window_length: int, num_convolutions: int, kernel_size: int, padding: int
) -> int:
    """Time steps T' left by the convolutions: T - n * (kernel_size - 1 - 2 * padding)."""
    return window_length - num_convolutions * (kernel_size - 1 - 2 * padding)


def build_cnn_transformer_encoder(
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
    for "mean" / "max" pooling over time. Raises ValueError for a bad argument or a window too
    short for the convolutions.
    """
    for arg_name, value in [
        ("window_length", window_length),
        ("num_channels", num_channels),
        ("kernel_size", kernel_size),
        ("num_heads", num_heads),
        ("feedforward_dim", feedforward_dim),
    ]:
        check_int(arg_name, value)
    filters = tuple(filters)
    if not filters:
        raise ValueError("filters must list at least one convolution, got ()")
    for value in filters:
        check_int("every entry of filters", value)
    check_int("num_layers", num_layers, low=0)
    check_int("padding", padding, low=0)
    check_fraction("dropout", dropout)
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
