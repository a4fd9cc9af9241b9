"""Control API strategies: bodies generated from each route's pydantic schema (its JSON schema),
valid ones and ones a mutation away (a wrong type, NaN, an unknown or missing field, not JSON)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .strategies import dumps_loose, json_values, nasty_text, nested


def from_schema(schema: dict, defs: dict) -> st.SearchStrategy[Any]:
    """Values valid under a pydantic JSON schema (the subset pydantic emits for these models)."""
    if "$ref" in schema:
        return st.deferred(lambda: from_schema(defs[schema["$ref"].rsplit("/", 1)[1]], defs))
    if "anyOf" in schema:
        return st.one_of(*[from_schema(s, defs) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(2**40)))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 2**40))
        return st.integers(int(low), int(high))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1e6))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 1e6))
        return st.floats(float(low), float(high), allow_nan=False, allow_infinity=False,
                         exclude_min="exclusiveMinimum" in schema, exclude_max="exclusiveMaximum" in schema)
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30))
    if kind == "array":
        if "prefixItems" in schema:
            return st.tuples(*[from_schema(s, defs) for s in schema["prefixItems"]]).map(list)
        items = from_schema(schema.get("items", {}), defs) if schema.get("items") else st.integers()
        return st.lists(items, min_size=schema.get("minLength", schema.get("minItems", 0)),
                        max_size=min(schema.get("maxItems", 3), 3))
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        if not properties:
            extra = schema.get("additionalProperties")
            values = from_schema(extra, defs) if isinstance(extra, dict) else st.integers()
            return st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=3)
        return st.fixed_dictionaries(
            {k: from_schema(v, defs) for k, v in properties.items() if k in required},
            optional={k: from_schema(v, defs) for k, v in properties.items() if k not in required})
    return st.integers() | st.text(max_size=5)


def schema_bodies(model: Any) -> st.SearchStrategy[Any]:
    schema = model.model_json_schema(by_alias=True)
    return from_schema(schema, schema.get("$defs", {}))


HOSTILE_FIELD_VALUES = ["5", 5, -1, 1e308, -1e308, 2**64, True, None, [], {}, "", "\ud800", nested(500),
                        float("nan"), float("inf"), 1e-6, "abc", 99999]


@st.composite
def control_bodies(draw, model: Any) -> bytes:
    """A body for a route: valid per its schema, or one mutation away from it."""
    body = draw(schema_bodies(model))
    mutation = draw(st.sampled_from(["valid", "valid", "wrong-field", "wrong-field", "unknown-field",
                                     "drop-field", "not-object", "raw"]))
    if isinstance(body, dict):
        fields = sorted(model.model_json_schema(by_alias=True).get("properties", {}))
        if mutation == "wrong-field" and fields:
            body[draw(st.sampled_from(fields))] = draw(st.sampled_from(HOSTILE_FIELD_VALUES) | json_values())
        elif mutation == "unknown-field":
            body[draw(nasty_text())] = draw(json_values())
        elif mutation == "drop-field" and body:
            body.pop(draw(st.sampled_from(sorted(body))))
    if mutation == "not-object":
        return dumps_loose(draw(json_values())).encode("utf-8", "surrogatepass")
    if mutation == "raw":
        return draw(st.sampled_from([b"{", b"\xff", b'{"a": NaN}', b"[" * 5000, b'{"x": 1e999}', b" "]))
    return dumps_loose(body).encode("utf-8", "surrogatepass")
