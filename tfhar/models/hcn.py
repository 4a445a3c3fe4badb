"""The skeleton encoder: the co-occurrence network HCN (Li et al., IJCAI 2018), as the paper
and the authors' code (razzu/cmc-cmkm) adapt it: dropout removed, BatchNorm after every conv."""

import keras
from keras import ops

from tfhar.models.layers import batch_norm
from tfhar.validation import check_int


@keras.saving.register_keras_serializable(package="tfhar")
class TemporalDifference(keras.layers.Layer):
    """Motion stream of HCN: x[t] - x[t-1] along axis 1, with the first frame zero."""

    def call(self, inputs):
        return ops.concatenate([ops.zeros_like(inputs[:, :1]), inputs[:, 1:] - inputs[:, :-1]], 1)

    def compute_output_shape(self, input_shape):
        return input_shape


def _pooled(length: int) -> int:
    """Length after a 3-wide valid convolution and a 2-wide max pool."""
    return (length - 2) // 2


def skeleton_output_length(window_length: int) -> int:
    """Time steps left before HCN's global pooling (1 at 50 frames; needs window_length >= 48)."""
    return _pooled(_pooled(_pooled(_pooled(window_length - 2))))


def build_hcn_encoder(
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
        check_int(arg_name, value)
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
