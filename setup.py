"""tfhar: contrastive self-supervised human activity recognition (inertial + skeleton).

The repository's top level keeps `configs/` and `pipelines/` beside `tfhar/`; a wheel installs
them inside the tfhar namespace, as `tfhar.configs` and `tfhar.pipelines`, so shipped configs
load by name and the pipelines run as modules from any directory.
"""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="tfhar",
    version="0.1.0",
    description=(
        "Contrastive self-supervised HAR from inertial and skeleton data "
        "(SimCLR, CMC) with TensorFlow/Keras 3 and TFLite export"
    ),
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=[*find_packages(include=["tfhar", "tfhar.*"]), "tfhar.configs", "tfhar.pipelines"],
    package_dir={"tfhar.configs": "configs", "tfhar.pipelines": "pipelines"},
    package_data={
        "tfhar.configs": ["*.yaml", "*/*.yaml", "*/*/*.yaml"],
        "tfhar.data": ["checksums/*.sha256"],
    },
    install_requires=[
        # The full `tensorflow` wheel runs on CPU and, with the `gpu` extra, on CUDA GPUs.
        "tensorflow>=2.16,<2.22",
        "keras>=3.3",
        "keras-tuner>=1.4",
        # keras-tuner fails every trial without TensorBoard installed explicitly.
        "tensorboard>=2.16",
        "numpy>=1.26",
        "scipy>=1.11",
        "pandas>=2.0",
        "matplotlib>=3.8",
        "scikit-learn>=1.3",
        "ai-edge-litert>=1.2",
        "pyyaml>=6.0",
        "tqdm>=4.66",
    ],
    extras_require={
        "test": ["pytest>=8.0", "ruff>=0.5"],
        "gpu": ["tensorflow[and-cuda]>=2.16,<2.22"],
    },
    entry_points={
        "console_scripts": [
            "tfhar-train=tfhar.train:main",
            "tfhar-export=tfhar.export:main",
            "tfhar-predict=tfhar.predict:main",
            "tfhar-data=tfhar.data.__main__:main",
            "tfhar-tune=tfhar.tune:main",
            "tfhar-evaluate-stream=tfhar.evaluate_stream:main",
        ],
    },
)
