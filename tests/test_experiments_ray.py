"""Table 2's repetitions on a real Ray cluster: a head started with ``ray start`` (as on a
cluster's first node), a reduced table run through ``--ray ADDRESS``, and the same numbers
as the local process pool."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sw.cli import main

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(tmp_path):
    """A one-node Ray cluster with two worker CPUs, stopped afterwards."""
    ray = pytest.importorskip("ray", reason="ray is a development dependency "
                                            "(requirements.txt); scripts/test installs it")
    ray_cli = Path(sys.executable).with_name("ray")
    assert ray_cli.exists(), f"{ray_cli}: the ray command of this environment"
    port = _free_port()
    # The system's temporary folder, not pytest's deeper one: Ray's socket paths must stay
    # under 107 characters.
    temp = Path(tempfile.mkdtemp(prefix="ray"))
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    start = subprocess.run(
        [str(ray_cli), "start", "--head", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", f"--temp-dir={temp}", "--disable-usage-stats"],
        env=env, capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, start.stdout + start.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        subprocess.run([str(ray_cli), "stop", "--force"], env=env, capture_output=True,
                       timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def _table(out, *extra):
    status = main(["experiment", "table2", "--dataset", "mnist", "--reps", "2",
                   "--epochs", "1", "--n-train", "128", "--n-test", "128",
                   "--methods", "fp,attq", "--no-save-models", "--no-progress",
                   "--out", str(out), *extra])
    assert status == 0
    return json.loads((out / "table2_mnist.json").read_text())


def test_table2_on_a_ray_cluster_equals_the_process_pool(tmp_path, ray_head):
    on_ray = _table(tmp_path / "ray", "--ray", ray_head)
    local = _table(tmp_path / "pool", "--workers", "2")
    assert on_ray["settings"]["ray"] == ray_head
    assert [r["rep"] for r in on_ray["repetitions"]] == [0, 1]
    for a, b in zip(on_ray["repetitions"], local["repetitions"]):
        for method in ("fp", "attq"):
            ra, rb = dict(a["methods"][method]), dict(b["methods"][method])
            # One thread per task, the same seeds: the same weights wherever a task runs.
            ra.pop("train_seconds"), rb.pop("train_seconds")
            assert ra == rb
