"""tfhar: contrastive self-supervised human activity recognition (inertial + skeleton).

Implements Khaertdinov, Brinzea and Asteriadis, "Contrastive Self-supervised Learning for Human
Activity Recognition using Inertial and Skeleton Modalities" with TensorFlow and Keras 3.
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probing, CPU feature notes) hides the useful output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN kernels: TensorFlow turns them on by default only on CPUs with AVX-512 VNNI / BF16 /
# AMX. On an AVX2-only 2-core CPU they made training steps 1.3-1.4x faster (benchmarks/
# train_speed.py). Read when TensorFlow loads: import tfhar first. TF_ENABLE_ONEDNN_OPTS=0
# turns them off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
