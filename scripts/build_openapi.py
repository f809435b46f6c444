"""Generate contracts/openapi.json, the OpenAPI 3.1 description of the AINative API.

The chat operation is served on six route aliases (CONTRACT-NOTES sections 1 and 13), so the
document is generated rather than hand-copied six times. Run after editing this file:

    python scripts/build_openapi.py

tests/contracts/test_openapi.py fails when the committed file differs from this output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "contracts" / "openapi.json"

CHAT_ROUTES = {
    "/v1/public/chat/completions": "Public route of the seed document; API key or JWT.",
    "/api/v1/public/chat/completions": "Public route used by next-sdk createServerClient (Bearer).",
    "/api/v1/chat/completions": "Canonical OpenAI-compatible route (X-API-Key); base of the openai SDK at .../api/v1.",
    "/v1/chat/completions": "BYOK route; same handler.",
    "/api/v1/managed/chat/completions": "Managed route (JWT); adds credits_consumed, credits_remaining, plan_tier.",
    "/api/v1/public/managed-chat/chat/completions": "Called by @ainative/react-sdk 1.0.1 (client-only path).",
}
BALANCE_ROUTES = ["/api/v1/public/credits/balance", "/v1/public/credits/balance", "/api/v1/credits/balance"]
MODEL_ROUTES = ["/v1/models", "/api/v1/models"]


def schema(name: str) -> dict[str, str]:
    return {"$ref": f"schemas/{name}.json"}


def error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}},
        "content": {"application/json": {"schema": schema("error")}},
    }


ERRORS: dict[str, str] = {
    "400": "Bad request (a server may use it for an unknown model; the mock also for a malformed X-Mock-Fault).",
    "401": "Missing, malformed or unknown API key or JWT.",
    "402": "Insufficient credits.",
    "403": "Model not available on the caller's plan.",
    "404": "Unknown model (code `model_not_found`; the mock's default for a name outside its table).",
    "413": "Request body too large.",
    "415": "Body sent with a content type other than JSON.",
    "422": "Request body failed validation; detail lists each bad field (FastAPI form).",
    "500": "Internal error.",
    "502": "Upstream provider failed.",
    "503": "Model unavailable.",
}


def responses(*codes: str, retry_after_on: tuple[str, ...] = ("429", "503")) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        if code == "429":
            out[code] = error_response("Rate limit exceeded. Retry-After gives whole seconds until a retry can pass.")
            out[code]["headers"]["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
        else:
            out[code] = error_response(ERRORS[code])
            if code in retry_after_on:
                out[code]["headers"]["Retry-After"] = {"$ref": "#/components/headers/RetryAfterOptional"}
    return out


SSE_EVENT = {
    "description": (
        "One server-sent event, as schemathesis 4 validates event streams (the schema applies to "
        "{data, event, id?, retry?}). data is a one-line chat.completion.chunk JSON, an in-band "
        "OpenAI error frame, or the terminating [DONE]. Order across events is checked by the "
        "stream-grammar conformance clause."
    ),
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"const": "message"},
        "data": {
            "anyOf": [
                {"const": "[DONE]"},
                {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": schema("chat-completion-chunk"),
                },
                {"type": "string", "contentMediaType": "application/json", "contentSchema": schema("error-openai")},
            ]
        },
    },
}


def chat_operation(path: str, summary: str, index: int) -> dict[str, Any]:
    ok = {
        "description": "The completion: JSON, or an SSE stream when the request sets stream: true.",
        "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}},
        "content": {
            "application/json": {"schema": schema("chat-completion")},
            "text/event-stream": {"schema": SSE_EVENT},
        },
    }
    return {
        "post": {
            "operationId": "createChatCompletion" if index == 0 else f"createChatCompletion_{index}",
            "summary": summary,
            "tags": ["chat"],
            "security": [{"ApiKeyHeader": []}, {"BearerAuth": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema("chat-request")}}},
            "responses": {
                "200": ok,
                **responses("400", "401", "402", "403", "404", "413", "415", "422", "429", "500", "502", "503"),
            },
        }
    }


def simple_get(op_id: str, summary: str, tag: str, body: str, codes: tuple[str, ...]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": op_id,
            "summary": summary,
            "tags": [tag],
            "security": [{"ApiKeyHeader": []}, {"BearerAuth": []}],
            "responses": {
                "200": {
                    "description": summary,
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}},
                    "content": {"application/json": {"schema": schema(body)}},
                },
                **responses(*codes),
            },
        }
    }


def build() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for index, (path, summary) in enumerate(CHAT_ROUTES.items()):
        paths[path] = chat_operation(path, summary, index)
    for index, path in enumerate(BALANCE_ROUTES):
        op_id = "getCreditsBalance" if index == 0 else f"getCreditsBalance_{index}"
        paths[path] = simple_get(
            op_id, "Credits balance of the caller", "credits", "credits-balance", ("401", "403", "429", "500", "503")
        )
    for index, path in enumerate(MODEL_ROUTES):
        op_id = "listModels" if index == 0 else f"listModels_{index}"
        paths[path] = simple_get(
            op_id,
            "Models the caller may use (OpenAI-compatible list)",
            "models",
            "models-list",
            ("401", "429", "500", "503"),
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AINative Chat Completions API",
            "version": "2026.11",
            "summary": "Contract of the AINative chat completions, credits and models routes.",
            "description": (
                "Reconstructed from AINative's public clients (see CONTRACT-NOTES). The source of truth for "
                "ainative-contract-kit: its mock obeys it and its conformance checks hold servers to it."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "https://api.ainative.studio"}, {"url": "http://127.0.0.1:8000"}],
        "tags": [
            {"name": "chat", "description": "Chat completions (JSON and SSE)."},
            {"name": "credits", "description": "Credits balance."},
            {"name": "models", "description": "Model catalogue."},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "ApiKeyHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "An API key (sk_..., tmp_..., zdb_live_..., ak_...).",
                },
                "BearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key or a JWT (HS256) as a bearer token.",
                },
            },
            "headers": {
                "RequestId": {
                    "description": "Id of this request, for support and logs.",
                    "schema": {"type": "string", "minLength": 1},
                },
                "RetryAfter": {
                    "required": True,
                    "description": "Whole seconds to wait before retrying.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                },
                "RetryAfterOptional": {
                    "description": "Whole seconds to wait before retrying.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                },
            },
        },
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
