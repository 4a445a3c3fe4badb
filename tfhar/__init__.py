"""tfhar: contrastive self-supervised human activity recognition (inertial + skeleton).

Implements Khaertdinov, Brinzea and Asteriadis, "Contrastive Self-supervised Learning for Human
Activity Recognition using Inertial and Skeleton Modalities" with TensorFlow and Keras 3.
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probing, CPU feature notes) hides the useful output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
