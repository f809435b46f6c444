"""Which marker wins: module, class, function (run as test_nearest.py)."""

import pytest

pytestmark = pytest.mark.ainative_mock(credits=111, plan="basic")


def test_module_marker_applies(mock):
    assert (mock.balance()["total_credits"], mock.balance()["plan"]) == (111, "basic")


@pytest.mark.ainative_mock(credits=222)
def test_function_marker_replaces_the_module_marker(mock):
    # nearest wins as a whole: plan falls back to the default, it is not merged from the module marker
    assert (mock.balance()["total_credits"], mock.balance()["plan"]) == (222, "pro")


@pytest.mark.ainative_mock(credits=333)
class TestClassMarker:
    def test_class_marker_applies(self, mock):
        assert (mock.balance()["total_credits"], mock.balance()["plan"]) == (333, "pro")

    @pytest.mark.ainative_mock(credits=444, error_style="openai")
    def test_method_marker_wins_over_the_class(self, mock, chat):
        assert mock.balance()["total_credits"] == 444
        mock.set_credits(0)
        assert mock.balance()["total_credits"] == 0
        assert "error" in chat().json()


def test_changes_made_in_a_test_do_not_leak(mock):
    assert mock.balance()["total_credits"] == 111
