"""The OpenAPI document: generated, committed, valid OpenAPI 3.1, self-contained, loadable by schemathesis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import schemathesis
from openapi_spec_validator import validate as validate_openapi
from schemathesis.core.result import Err, Ok

import contracts


def iter_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


def resolve_pointer(document: Any, ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} is not a local pointer"
    node = document
    for raw in ref[2:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def chat_paths(generator: ModuleType) -> list[str]:
    return list(generator.CHAT_ROUTES)


def test_committed_openapi_equals_generator_output(repo_root: Path, openapi_generator: ModuleType) -> None:
    committed = (repo_root / "contracts" / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_generator.render(), "run: python scripts/build_openapi.py"


def test_installed_openapi_equals_generator_output(openapi_generator: ModuleType) -> None:
    assert contracts.load_openapi(bundled=False) == json.loads(openapi_generator.render())


def test_bundled_openapi_is_valid_openapi_3_1() -> None:
    document = contracts.load_openapi()
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)


def test_every_ref_in_the_bundled_document_resolves() -> None:
    document = contracts.load_openapi()
    refs = set(iter_refs(document))
    assert len(refs) > 20
    for ref in sorted(refs):
        assert isinstance(resolve_pointer(document, ref), dict), ref


def test_unbundled_document_refers_only_to_shipped_schema_files() -> None:
    names = set(contracts.schema_names())
    for ref in iter_refs(contracts.load_openapi(bundled=False)):
        if ref.startswith("#/"):
            continue
        assert ref.startswith("schemas/"), ref
        assert ref.removeprefix("schemas/").removesuffix(".json") in names, ref


def test_every_schema_is_a_component_under_its_title_without_id() -> None:
    components = contracts.load_openapi()["components"]["schemas"]
    for name in contracts.schema_names():
        component = components[contracts.load_schema(name)["title"]]
        assert "$id" not in component
        assert "$schema" not in component


def test_bundled_component_validates_like_the_schema_file() -> None:
    document = contracts.load_openapi()
    chunk = document["components"]["schemas"]["ChatCompletionChunk"]
    assert chunk["properties"]["usage"]["anyOf"][0] == {"$ref": "#/components/schemas/Usage"}
    finish = chunk["$defs"]["choice"]["properties"]["finish_reason"]["anyOf"][0]
    assert resolve_pointer(document, finish["$ref"])["enum"][0] == "stop"


def test_openapi_bytes_is_the_bundled_document() -> None:
    assert json.loads(contracts.openapi_bytes()) == contracts.load_openapi()
    assert contracts.openapi_bytes() is contracts.openapi_bytes()


def test_load_openapi_returns_a_fresh_copy() -> None:
    contracts.load_openapi()["paths"].clear()
    assert contracts.load_openapi()["paths"]


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for item in contracts.load_openapi()["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) == 11


def test_every_chat_alias_documents_the_same_operation(openapi_generator: ModuleType) -> None:
    paths = contracts.load_openapi()["paths"]
    canonical = paths["/api/v1/chat/completions"]["post"]
    for path in chat_paths(openapi_generator):
        operation = paths[path]["post"]
        assert operation["requestBody"] == canonical["requestBody"], path
        assert operation["responses"] == canonical["responses"], path


def test_chat_200_documents_json_and_event_stream() -> None:
    ok = contracts.load_openapi()["paths"]["/v1/public/chat/completions"]["post"]["responses"]["200"]
    assert set(ok["content"]) == {"application/json", "text/event-stream"}


def test_429_requires_an_integer_retry_after() -> None:
    document = contracts.load_openapi()
    header = document["paths"]["/api/v1/chat/completions"]["post"]["responses"]["429"]["headers"]["Retry-After"]
    resolved = resolve_pointer(document, header["$ref"])
    assert resolved["required"] is True
    assert resolved["schema"]["pattern"] == "^[0-9]+$"


def test_schemathesis_resolves_every_operation(
    api_schema: schemathesis.BaseSchema, openapi_generator: ModuleType
) -> None:
    results = list(api_schema.get_all_operations())
    assert [str(result.err()) for result in results if isinstance(result, Err)] == []
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    found = {(operation.method.upper(), operation.path) for operation in operations}
    expected = {("POST", path) for path in openapi_generator.CHAT_ROUTES}
    expected |= {("GET", path) for path in (*openapi_generator.BALANCE_ROUTES, *openapi_generator.MODEL_ROUTES)}
    assert found == expected


@pytest.mark.parametrize("path", ["/api/v1/chat/completions", "/v1/public/chat/completions"])
def test_schemathesis_builds_a_case_for_the_chat_operation(api_schema: schemathesis.BaseSchema, path: str) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}]}
    case = api_schema[path]["POST"].Case(body=body)
    assert case.body == body
    assert case.media_type == "application/json"
