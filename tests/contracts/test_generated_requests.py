"""Requests that schemathesis generates from the OpenAPI document satisfy the chat-request schema.

This ties the bundled document (what schemathesis and servers see) to the schema files (what
``contracts.validate`` uses): a bundling mistake that loosens or breaks a ``$ref`` shows up here.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contracts

RELAXED = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def chat_operation(api_schema: schemathesis.BaseSchema) -> schemathesis.APIOperation:
    """The canonical chat operation of the bundled document."""
    return api_schema["/api/v1/chat/completions"]["POST"]


@RELAXED
@given(data=st.data())
def test_generated_chat_bodies_satisfy_the_chat_request_schema(
    chat_operation: schemathesis.APIOperation, data: st.DataObject
) -> None:
    case = data.draw(chat_operation.as_strategy(schemathesis.GenerationMode.POSITIVE))
    assert contracts.errors_for("chat-request", case.body) == []
