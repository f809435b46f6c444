"""The conformance plugin is installed for every project: it must send nothing unless asked."""

from __future__ import annotations

import pytest

from mockserver.testing import ServedMock

pytestmark = pytest.mark.socket


def test_an_unrelated_xdist_run_with_the_sdk_env_vars_sends_no_request(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ServedMock() as served:
        monkeypatch.setenv("AINATIVE_BASE_URL", served.base_url)
        monkeypatch.setenv("AINATIVE_API_KEY", "sk_inert_check_0001")
        pytester.makepyfile(test_unrelated="def test_nothing():\n    assert 1 + 1 == 2\n")
        result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        assert served.requests == []
        assert "ainative conformance" not in result.stdout.str()
