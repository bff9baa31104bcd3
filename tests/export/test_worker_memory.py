from __future__ import annotations

from export.worker_memory import BASE_MB, LAMBDA_MINIMUM_MB, worker_memory


def test_a_small_model_needs_the_configured_minimum() -> None:
    memory = worker_memory(200_000, 4_000, 100_000)
    assert BASE_MB < memory.expected_peak_mb < BASE_MB + 2
    assert memory.recommended_mb == LAMBDA_MINIMUM_MB
    assert "lambda_memory_size >= 512" in str(memory)


def test_a_large_model_is_given_room_for_a_second_one_during_a_switch() -> None:
    memory = worker_memory(200_000_000, 2_000_000, 50_000_000)
    model = memory.expected_peak_mb - BASE_MB
    assert memory.recommended_mb >= BASE_MB + 2 * model
    assert memory.recommended_mb % 64 == 0


def test_more_terms_and_a_larger_index_need_more() -> None:
    small = worker_memory(30_000_000, 100_000, 10_000_000).expected_peak_mb
    assert worker_memory(30_000_000, 200_000, 10_000_000).expected_peak_mb > small
    assert worker_memory(30_000_000, 100_000, 20_000_000).expected_peak_mb > small
