"""Contrastive losses of the paper: pure functions of projections, computed in float32.

Distributed convention: called inside a replica context of a `tf.distribute` strategy with
several replicas, each function all-gathers the projections so that candidates (negatives)
span the global batch, and averages over the *local* anchors only. With equal local batches
the mean of the per-replica values is the global-batch value. Keras' optimizers *sum*
gradients across replicas, so a train step divides the local loss by the number of replicas
(`scale_for_replicas`, as Keras does for compiled losses) before taking gradients; the
gradient then equals the global-batch loss's gradient. On one device nothing changes.
"""

import tensorflow as tf


def _check_temperature(temperature: float) -> None:
    if isinstance(temperature, int | float) and not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")


def _normalized(z: tf.Tensor) -> tf.Tensor:
    return tf.math.l2_normalize(tf.cast(z, tf.float32), axis=1)


def _gather(z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(n, D) local rows -> (N, D) rows of every replica, and where the local rows start."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return z, tf.constant(0)
    sizes = context.all_gather(tf.shape(z)[:1], axis=0)
    offset = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
    return context.all_gather(z, axis=0), offset


def scale_for_replicas(loss: tf.Tensor) -> tf.Tensor:
    """Divide a per-replica loss by the number of replicas (gradients are summed across them)."""
    num_replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if num_replicas == 1 else loss / num_replicas


def _views_logits(z_a: tf.Tensor, z_b: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Cosine similarities of the 2n local views to all 2N views (a views first).

    Returns the similarities (2n, 2N), the index of each anchor itself and of its positive
    (its partner view).
    """
    z_a, z_b = _normalized(z_a), _normalized(z_b)
    (all_a, offset), (all_b, _) = _gather(z_a), _gather(z_b)
    total = tf.shape(all_a)[0]
    local = tf.range(tf.shape(z_a)[0]) + offset
    similarities = tf.matmul(
        tf.concat([z_a, z_b], 0), tf.concat([all_a, all_b], 0), transpose_b=True
    )
    selves = tf.concat([local, local + total], 0)
    positives = tf.concat([local + total, local], 0)
    return similarities, selves, positives


def _cross_logits(z_a: tf.Tensor, z_b: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Cosine similarities a -> all b (rows) and b -> all a (columns), and the positives."""
    z_a, z_b = _normalized(z_a), _normalized(z_b)
    (all_a, offset), (all_b, _) = _gather(z_a), _gather(z_b)
    local = tf.range(tf.shape(z_a)[0]) + offset
    rows = tf.matmul(z_a, all_b, transpose_b=True)
    columns = tf.matmul(z_b, all_a, transpose_b=True)
    return rows, columns, local


def nt_xent(z_a: tf.Tensor, z_b: tf.Tensor, temperature: float) -> tf.Tensor:
    """NT-Xent (SimCLR, Chen et al. 2020) over 2N views. z_a, z_b: (N, D) paired projections.

    Cosine similarity / temperature; each view's positive is its partner, the other 2N - 2
    views are negatives; mean cross entropy over the 2N anchors. Returns a float32 scalar.
    """
    _check_temperature(temperature)
    similarities, selves, positives = _views_logits(z_a, z_b)
    logits = similarities / temperature
    logits -= 1e9 * tf.one_hot(selves, tf.shape(logits)[1])  # A view is not its own negative.
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(positives, logits))


def cmc_loss(z_inertial: tf.Tensor, z_skeleton: tf.Tensor, temperature: float) -> tf.Tensor:
    """Cross-modal InfoNCE of CMC (Tian et al. 2020) as in the paper. Inputs: (N, D) each.

    The N x N inertial-skeleton cosine-similarity matrix / temperature is used row-wise
    (inertial anchors) and column-wise (skeleton anchors), the diagonal holding the positives
    and only cross-modal negatives; mean of the 2N cross entropies. Returns a float32 scalar.
    """
    _check_temperature(temperature)
    rows, columns, positives = _cross_logits(z_inertial, z_skeleton)
    losses = [
        tf.nn.sparse_softmax_cross_entropy_with_logits(positives, logits / temperature)
        for logits in (rows, columns)
    ]
    return tf.reduce_mean(tf.concat(losses, 0))


def contrastive_accuracy(
    z_a: tf.Tensor, z_b: tf.Tensor, intra_view_negatives: bool = False
) -> tf.Tensor:
    """Fraction of the 2N anchors whose positive is the most similar candidate (float32).

    z_a, z_b: (N, D) paired projections. Candidates are the other view's N projections (CMC),
    or with `intra_view_negatives` all 2N - 1 other views (SimCLR's NT-Xent candidates).
    """
    if intra_view_negatives:
        similarities, selves, positives = _views_logits(z_a, z_b)
        similarities -= 3.0 * tf.one_hot(selves, tf.shape(similarities)[1])
        predictions = [tf.argmax(similarities, axis=1, output_type=tf.int32)]
        targets = [positives]
    else:
        rows, columns, positives = _cross_logits(z_a, z_b)
        predictions = [
            tf.argmax(logits, axis=1, output_type=tf.int32) for logits in (rows, columns)
        ]
        targets = [positives, positives]
    correct = tf.equal(tf.concat(predictions, 0), tf.concat(targets, 0))
    return tf.reduce_mean(tf.cast(correct, tf.float32))
