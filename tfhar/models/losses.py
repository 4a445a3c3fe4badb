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


def _mined_neighbours(mining: tf.Tensor, all_mining: tf.Tensor, selves: tf.Tensor,
                      k: int) -> tf.Tensor:
    """(n, N) bool: for each local sample, its k most similar of all N (itself excluded)."""
    total = tf.shape(all_mining)[0]
    tf.debugging.assert_less(k, total, message="cmkm_loss: positives must be < the batch size")
    similarities = tf.matmul(mining, all_mining, transpose_b=True)
    similarities -= 3.0 * tf.one_hot(selves, total)  # Cosines are >= -1: never itself.
    _, indices = tf.math.top_k(similarities, k)
    return tf.reduce_max(tf.one_hot(indices, total), axis=1) > 0


def _masked_logsumexp(terms: list[tuple[tf.Tensor, tf.Tensor]]) -> tf.Tensor:
    """Row-wise log of the sum of exp(logits) over the masked entries of every (logits, mask)."""
    return tf.reduce_logsumexp(
        tf.concat([tf.where(mask, logits, -1e9) for logits, mask in terms], 1), axis=1)


def _mining(features: dict[str, tf.Tensor], selves: tf.Tensor, itself: tf.Tensor, k: int,
            symmetric: bool, threshold: float | None) -> tuple[dict, dict, dict]:
    """Per modality, from its mining features: the (n, N) masks of each local sample's k
    nearest neighbours and of the pruned samples, and the (N,) connectivities (mean cosine
    similarity of a sample to the whole batch, itself included)."""
    local = {m: _normalized(v) for m, v in features.items()}
    everyone = {m: _gather(v)[0] for m, v in local.items()}
    nobody = tf.zeros_like(itself)
    neighbours = {m: nobody if k == 0 else _mined_neighbours(local[m], everyone[m], selves, k)
                  for m in local}
    if symmetric:
        either = tf.logical_or(neighbours["inertial"], neighbours["skeleton"])
        neighbours = {m: either for m in local}
    connectivity = {m: tf.linalg.matvec(v, tf.reduce_mean(v, 0)) for m, v in everyone.items()}
    pruned = {m: nobody if threshold is None else
              tf.logical_and(tf.ones_like(itself), (c > threshold)[None])
              for m, c in connectivity.items()}
    return neighbours, pruned, connectivity


def cmkm_loss(
    z_inertial: tf.Tensor,
    z_skeleton: tf.Tensor,
    mining_inertial: tf.Tensor,
    mining_skeleton: tf.Tensor,
    temperature: float,
    positives: int = 1,
    symmetric_positives: bool = False,
    intra_modal_negatives_weight: float = 1.0,
    intra_modal_temperature: float = 1.0,
    negative_pruning_threshold: float | None = None,
    loss_weighting_scale: float | None = None,
) -> tf.Tensor:
    """CMC with cross-modal knowledge mining (CMC-CMKM; Brinzea, Khaertdinov and Asteriadis,
    IJCNN 2022, arXiv 2205.10071), as the authors' code computes it.

    z_inertial, z_skeleton: (N, P) projections; mining_inertial, mining_skeleton: (N, F) features
    of the same windows from frozen (SimCLR) encoders of each modality, whose cosine
    similarities mine the batch. Each of the 2N anchors (as in `cmc_loss`) has as positives its
    partner and the `positives` (k) nearest neighbours, in the candidates' modality's mining
    space, of its own sample (with `symmetric_positives`, those of both spaces); the other
    cross-modal samples are its negatives. With intra-modal weight lambda > 0 the other samples
    of the anchor's own modality are candidates too, their similarities divided by
    `intra_modal_temperature`: its neighbours as positives, the rest as negatives weighted by
    lambda. `negative_pruning_threshold` gamma: a sample whose mean mining similarity to the
    batch (its connectivity) exceeds gamma is no one's negative. `loss_weighting_scale` s: each
    anchor's term is multiplied by exp(s * its connectivity). An anchor's term is
    -log(sum_positives exp / (sum_positives exp + sum_negatives exp)); the mean over the 2N is
    returned (float32). With k = 0, lambda = 0 and neither option it equals `cmc_loss`.
    """
    _check_temperature(temperature)
    _check_temperature(intra_modal_temperature)
    if isinstance(positives, bool) or not isinstance(positives, int) or positives < 0:
        raise ValueError(f"positives must be an integer >= 0, got {positives!r}")
    if not intra_modal_negatives_weight >= 0:
        raise ValueError("intra_modal_negatives_weight must be >= 0, got "
                         f"{intra_modal_negatives_weight!r}")
    z, all_z, offset = {}, {}, tf.constant(0)
    for modality, projections in (("inertial", z_inertial), ("skeleton", z_skeleton)):
        z[modality] = _normalized(projections)
        all_z[modality], offset = _gather(z[modality])
    selves = tf.range(tf.shape(z["inertial"])[0]) + offset
    itself = tf.one_hot(selves, tf.shape(all_z["inertial"])[0]) > 0
    neighbours, pruned, connectivity = _mining(
        {"inertial": mining_inertial, "skeleton": mining_skeleton}, selves, itself, positives,
        symmetric_positives, negative_pruning_threshold)
    losses = []
    for anchor, other in (("inertial", "skeleton"), ("skeleton", "inertial")):
        cross = tf.matmul(z[anchor], all_z[other], transpose_b=True) / temperature
        positive = tf.logical_or(itself, neighbours[other])
        negative = tf.logical_not(tf.logical_or(positive, pruned[other]))
        numerator, everything = [(cross, positive)], [(cross, tf.logical_or(positive, negative))]
        if intra_modal_negatives_weight > 0:
            intra = tf.matmul(z[anchor], all_z[anchor], transpose_b=True)
            intra /= intra_modal_temperature
            excluded = tf.logical_or(tf.logical_or(itself, neighbours[anchor]), pruned[anchor])
            numerator.append((intra, neighbours[anchor]))
            everything += [(intra, neighbours[anchor]), (
                intra + tf.math.log(float(intra_modal_negatives_weight)),
                tf.logical_not(excluded))]
        loss = _masked_logsumexp(everything) - _masked_logsumexp(numerator)
        if loss_weighting_scale is not None:
            loss *= tf.exp(loss_weighting_scale * tf.gather(connectivity[anchor], selves))
        losses.append(loss)
    return tf.reduce_mean(tf.concat(losses, 0))
