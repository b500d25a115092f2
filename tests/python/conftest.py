"""A real wave-server on loopback, on the test bank, for the Python client's tests."""
import gzip
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

SOURCE = os.environ.get("WAVE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("WAVE_BUILD_DIR", os.path.join(SOURCE, "build"))
sys.path.insert(0, os.path.join(SOURCE, "client", "python"))
FASHION = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


@pytest.fixture(scope="session")
def fashion():
    """2,000 test-split images [N, 28, 28] uint8 and their labels."""
    x = read_idx(f"{FASHION}/t10k-images-idx3-ubyte.gz")[:2000].copy()
    y = read_idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz")[:2000].astype(np.int64)
    return x, y


def device_flag():
    """scripts/device_check.sh sets WAVE_SERVER_DEVICE=cuda: no silent CPU fallback."""
    device = os.environ.get("WAVE_SERVER_DEVICE")
    return [f"--device={device}"] if device else []


class Server:
    """wave-server on loopback. Without `port` it binds port 0 and the startup
    line names the port it got (a port picked free beforehand can be taken by
    another test first); `port` restarts one on a known port."""

    STARTUP = re.compile(r"listening on port (\d+) .*metrics port (\d+)")

    def __init__(self, tmp, *extra, port=None):
        self.log_path = os.path.join(tmp, f"server-{len(os.listdir(tmp))}.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [os.path.join(BUILD, "server", "wave-server"),
             f"--banks={os.path.join(BUILD, 'test_bank.safetensors')}",
             f"--address=127.0.0.1:{port or 0}", "--metrics_address=127.0.0.1:0", "--threads=1",
             *device_flag(), *extra], stderr=self.log)
        self.port, self.metrics = self._startup_ports()
        self.address = f"127.0.0.1:{self.port}"
        import wave_init
        with wave_init.Client(self.address, token=self._token(extra)) as c:
            assert c.health(deadline=10) == "SERVING", "see " + self.log_path

    def _startup_ports(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.process.poll() is None, "wave-server exited; see " + self.log_path
            with open(self.log_path) as f:
                found = self.STARTUP.search(f.read())
            if found:
                return int(found.group(1)), int(found.group(2))
            time.sleep(0.1)
        raise TimeoutError("wave-server did not start; see " + self.log_path)

    @staticmethod
    def _token(extra):
        for flag in extra:
            if flag.startswith("--auth_token_file="):
                with open(flag.split("=", 1)[1]) as f:
                    return f.read().strip()
        return None

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("server")), "--max_samples=500")
    yield s
    s.stop()


@pytest.fixture
def start_server(tmp_path):
    started = []

    def start(*extra, port=None):
        started.append(Server(str(tmp_path), *extra, port=port))
        return started[-1]

    yield start
    for s in started:
        if s.process.poll() is None:
            s.stop()
