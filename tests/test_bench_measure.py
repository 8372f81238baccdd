"""``make bench``'s measure of one command: its own peak memory, not the benchmark process's (on Linux a
child's ru_maxrss starts at its parent's RSS at fork), its exit code checked."""

import sys

import pytest

from benchmarks.run import run


def test_a_small_command_started_by_a_large_process_reports_its_own_peak():
    ballast = bytearray(300 * 2 ** 20)  # the benchmark process holding 300 MiB, touched so it is resident
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    seconds, small = run([sys.executable, "-c", "pass"])
    _, large = run([sys.executable, "-c", "b = bytearray(200 * 2 ** 20)\nfor i in range(0, len(b), 4096): b[i] = 1"])
    assert small < 100, small
    assert 200 <= large < 300, large
    assert 0 < seconds < 30
    del ballast


def test_a_failing_command_fails_the_benchmark_with_its_message():
    with pytest.raises(SystemExit, match="boom"):
        run([sys.executable, "-c", "import sys; sys.exit('boom')"], label="x")
    run([sys.executable, "-c", "raise SystemExit(2)"], expect=2)
