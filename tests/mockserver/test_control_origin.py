"""Pages on other sites cannot read or drive the control API; configured keys are never shown."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mockserver import MockConfig, create_app

SECRET_KEY = "ak_prod_secret_abcdef123456"


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(MockConfig(api_keys=(SECRET_KEY,))))


@pytest.mark.parametrize("origin", ["https://evil.example", "http://192.168.1.10:3000"])
def test_a_foreign_page_is_refused(client: TestClient, origin: str) -> None:
    for method, path in [("GET", "/_mock/config"), ("GET", "/_mock/requests"), ("POST", "/_mock/reset")]:
        response = client.request(method, path, headers={"Origin": origin})
        assert response.status_code == 403, (method, path)
        assert "detail" in response.json()


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080"])
def test_a_local_frontend_may_flip_faults(client: TestClient, origin: str) -> None:
    response = client.post("/_mock/faults", json={"fault": "503"}, headers={"Origin": origin})
    assert response.status_code == 201


def test_an_explicitly_allowed_origin_may_use_it() -> None:
    app = create_app(MockConfig(cors_origins=("https://app.example",)))
    response = TestClient(app).get("/_mock/config", headers={"Origin": "https://app.example"})
    assert response.status_code == 200


def test_config_never_shows_keys_in_full(client: TestClient) -> None:
    shown = client.get("/_mock/config").json()["api_keys"]
    assert shown == ["ak_…3456"]
    assert SECRET_KEY not in client.get("/_mock/config").text
