"""Reading a column of dates: every common form, and day/month order decided from the whole column."""

from __future__ import annotations

import pytest

from export.dates import DAY_FIRST, MONTH_FIRST, read_date_column


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("05/Jun/24 1:20 PM", "2024-06-05T13:20:00"),  # Jira's default dd/MMM/yy h:mm a
        ("05/Jun/24 12:05 AM", "2024-06-05T00:05:00"),
        ("22/Oct/21 16:55", "2021-10-22T16:55:00"),  # issues.apache.org's 24-hour form
        ("22/oct/2021 4:55 pm", "2021-10-22T16:55:00"),
        ("Jun 5, 2024 1:20 PM", "2024-06-05T13:20:00"),
        ("5 June 2024", "2024-06-05T00:00:00"),
        ("2024-09-06 13:55", "2024-09-06T13:55:00"),
        ("2024-09-06T13:55:07", "2024-09-06T13:55:07"),
        ("2024-09-06T13:55:00Z", "2024-09-06T13:55:00+00:00"),
        ("2024-09-06T15:55:00+02:00", "2024-09-06T13:55:00+00:00"),
        ("2004-06-05T01:20:20.000+0000", "2004-06-05T01:20:20+00:00"),  # the REST API's form
        ("2024/09/06 13:55", "2024-09-06T13:55:00"),
        ("2024-09-06 1:55 PM", "2024-09-06T13:55:00"),
    ],
)
def test_unambiguous_forms(raw: str, iso: str) -> None:
    column = read_date_column([raw])

    assert column.values == [iso]
    assert column.unreadable == []
    assert column.note is None  # no numeric day/month to decide


def test_one_day_above_12_makes_the_whole_column_day_first() -> None:
    column = read_date_column(["06-09-2024 13:55", "07.09.24 08:00", "13-09-2024 09:10"])

    assert column.values == ["2024-09-06T13:55:00", "2024-09-07T08:00:00", "2024-09-13T09:10:00"]
    assert column.note is not None and column.note.startswith("numeric dates read day-first")
    assert "'13-09-2024 09:10'" in column.note


def test_one_day_above_12_in_second_place_makes_it_month_first() -> None:
    column = read_date_column(["9/6/2024 1:55 PM", "12/25/2024 10:00 AM", "1/2/2025 8:05 AM"])

    assert column.values == ["2024-09-06T13:55:00", "2024-12-25T10:00:00", "2025-01-02T08:05:00"]
    assert column.note is not None and column.note.startswith("numeric dates read month-first")


def test_an_ambiguous_column_says_what_it_assumed() -> None:
    column = read_date_column(["06/09/2024", "07/09/2024"])

    assert column.values == ["2024-09-06T00:00:00", "2024-09-07T00:00:00"]
    assert column.note is not None
    assert "cannot be told" in column.note and "--date-order month-first" in column.note


@pytest.mark.parametrize(("order", "month"), [(DAY_FIRST, "09"), (MONTH_FIRST, "06")])
def test_the_operator_can_set_the_order(order: str, month: str) -> None:
    column = read_date_column(["06/09/2024"], order)

    assert column.values[0].startswith(f"2024-{month}-")
    assert column.note is not None and "--date-order" in column.note


def test_unreadable_and_impossible_dates_are_listed_not_fatal() -> None:
    column = read_date_column(
        ["13-09-2024 09:10", "31-02-2024 10:00", "last Tuesday", "", "99/99/99", "32/Jan/24"]
    )

    assert column.unreadable == [1, 2, 4, 5]
    assert column.values == ["2024-09-13T09:10:00", "", "", "", "", ""]


def test_a_mixed_column_keeps_the_larger_order_and_skips_the_rest() -> None:
    column = read_date_column(["13/09/2024", "14/09/2024", "09/15/2024", "01/02/2024"])

    assert column.values == ["2024-09-13T00:00:00", "2024-09-14T00:00:00", "", "2024-02-01T00:00:00"]
    assert column.unreadable == [2]
    assert column.note is not None and column.note.startswith("numeric dates are mixed")


@pytest.mark.parametrize("raw", ["13:55", "2024-09-06 25:00", "06/09/2024 13:55 PM", "06/09/2024 0:10 AM"])
def test_impossible_times_are_unreadable(raw: str) -> None:
    assert read_date_column([raw]).unreadable == [0]


def test_two_digit_years_follow_strptime() -> None:
    assert read_date_column(["01/Jan/69", "01/Jan/68"]).values == [
        "1969-01-01T00:00:00",
        "2068-01-01T00:00:00",
    ]
