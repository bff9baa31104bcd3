from __future__ import annotations

from export.worker_memory import BASE_MB, LAMBDA_MINIMUM_MB, worker_memory


def test_a_small_model_needs_the_configured_minimum() -> None:
    memory = worker_memory(200_000, 100_000)
    assert BASE_MB < memory.expected_peak_mb < BASE_MB + 1
    assert memory.recommended_mb == LAMBDA_MINIMUM_MB
    assert "lambda_memory_size >= 512" in str(memory)


def test_a_large_model_is_given_room_for_a_second_one_during_a_switch() -> None:
    memory = worker_memory(200_000_000, 50_000_000)
    files = memory.expected_peak_mb - BASE_MB
    assert memory.recommended_mb >= BASE_MB + 2 * files
    assert memory.recommended_mb % 64 == 0
    assert worker_memory(100_000_000).recommended_mb < memory.recommended_mb
