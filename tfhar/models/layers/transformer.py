"""The transformer encoder layer of the inertial encoder (post-LayerNorm, as PyTorch's)."""

import keras

from tfhar.models.layers.layer_norm import LayerNorm
from tfhar.validation import check_fraction, check_int


@keras.saving.register_keras_serializable(package="tfhar")
class TransformerEncoderLayer(keras.layers.Layer):
    """Post-LayerNorm transformer encoder layer, like PyTorch's `nn.TransformerEncoderLayer`.

    x = LN(x + Dropout(MHA(x, x))); x = LN(x + Dropout(Dense(Dropout(ReLU(Dense(x)))))).
    LN is `LayerNorm` (Keras' layer normalization without a float-only operator in int8
    LiteRT graphs; same variables, so encoders saved with Keras' layer load unchanged).
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
        check_int("num_heads", num_heads)
        check_int("feedforward_dim", feedforward_dim)
        check_fraction("dropout", dropout)
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
        self.attention_norm = LayerNorm(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="attention_norm"
        )
        self.attention_norm.build(input_shape)
        self.feedforward_in = keras.layers.Dense(
            self.feedforward_dim, activation="relu", dtype=policy, name="feedforward_in"
        )
        self.feedforward_in.build(input_shape)
        self.feedforward_out = keras.layers.Dense(model_dim, dtype=policy, name="feedforward_out")
        self.feedforward_out.build((*input_shape[:-1], self.feedforward_dim))
        self.output_norm = LayerNorm(
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
