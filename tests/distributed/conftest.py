"""Fixtures for multi-worker tests: worker processes on 127.0.0.1 (free ports, a TF_CONFIG
each, a private temporary folder), always killed when a test ends, and synthetic shards."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER_SCRIPT = Path(__file__).with_name("worker.py")


def load_worker_module():
    """tests/distributed/worker.py as a module (its config and model, for references)."""
    spec = importlib.util.spec_from_file_location("tfhar_test_worker", WORKER_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now (the OS picks them)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Cluster:
    """Worker processes of one job; `start` launches them, `wait` collects their exit codes."""

    folder: Path
    processes: list[subprocess.Popen]

    def start(self, commands: list[list[str]], attempt: str = "") -> list[subprocess.Popen]:
        """One process per command, worker i with TF_CONFIG task i of a new cluster."""
        addresses = [f"127.0.0.1:{port}" for port in free_ports(len(commands))]
        temporary = self.folder / "tmp"
        temporary.mkdir(exist_ok=True)
        started = []
        for index, command in enumerate(commands):
            environment = {
                **os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1",
                "TMPDIR": str(temporary),
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                "TF_CONFIG": json.dumps({"cluster": {"worker": addresses},
                                         "task": {"type": "worker", "index": index}}),
            }
            log = open(self.folder / f"worker{index}{attempt}.log", "w")  # noqa: SIM115
            started.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env=environment, cwd=ROOT))
            log.close()
        self.processes += started
        return started

    def wait(self, processes: list[subprocess.Popen], timeout: float) -> list[int]:
        """Exit codes; fails with the workers' logs when one runs past `timeout` seconds."""
        deadline = time.monotonic() + timeout
        codes = []
        for process in processes:
            try:
                codes.append(process.wait(timeout=max(deadline - time.monotonic(), 0.1)))
            except subprocess.TimeoutExpired:
                pytest.fail(f"a worker ran past {timeout} s:\n{self.logs()}")
        return codes

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}"
                         for log in sorted(self.folder.glob("worker*.log")))


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    """Start worker processes; every one still running is killed when the test ends."""
    folder = tmp_path / "cluster"
    folder.mkdir()
    job = Cluster(folder, [])
    try:
        yield job
    finally:
        for process in job.processes:
            if process.poll() is None:
                process.kill()
            process.wait()


@pytest.fixture
def worker_command() -> Callable[..., list[str]]:
    """`worker_command(mode, *args)`: the command line running tests/distributed/worker.py."""
    return lambda *args: [sys.executable, str(WORKER_SCRIPT), *map(str, args)]


@pytest.fixture(scope="session")
def worker_module():
    return load_worker_module()


@pytest.fixture(scope="session")
def normal_shards(tmp_path_factory) -> Path:
    """4 shards of 12 standard-normal windows (20 x 6), enough files to shard by file; data
    on a unit scale keeps a few training steps' rounding small (raw gyroscope values in deg/s
    make it a hundred times larger)."""
    import numpy as np

    from tfhar.data.shards import ShardWriter

    folder = tmp_path_factory.mktemp("shards") / "normal"
    writer = ShardWriter(folder, {"inertial": {"shape": (20, 6)}}, windows_per_shard=12)
    writer.add({"inertial": np.random.default_rng(0).normal(size=(48, 20, 6))})
    writer.close()
    return folder


@pytest.fixture(scope="session")
def synthetic_shards(tmp_path_factory) -> Path:
    """4 shards of 12 synthetic inertial windows (20 x 6): enough files to shard by file."""
    import tfhar.data as data
    from tfhar.data.shards import write_record

    record = data.load("synthetic", modalities=("inertial",), window_length=20,
                       samples_per_class_per_subject=1)
    folder = tmp_path_factory.mktemp("shards") / "synthetic"
    write_record(record, folder, windows_per_shard=12)
    return folder
