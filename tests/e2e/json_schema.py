"""The JSON lines of sockecho (serve --json, probe --json), as data the tests hold them to.

The same schema is written for people in sockecho(1), OUTPUT, "JSON lines"; test_json_schema
checks that the two agree. Stdlib only.

SCHEMA    event -> {key: type}, every key the event may have, in the order it is written.
OPTIONAL  event -> groups of keys that are present only in some runs (the TLS keys under
          --tls, the TCP_INFO keys with -v on TCP, tls_error with reason "tls"): each group
          is all there or all absent. Every other key of SCHEMA[event] is always there.

Types: "string", "integer", "number" (an integer or a fraction), "boolean", "array<T>",
"object<T>" (an object whose values are all T), and "T|null" for a value that may be null.
A key has the same type in every event that has it (KEY_TYPES).

validate(obj) -> [problems]  (empty when the object fits)
check_line(line) -> obj      (raises SchemaError on a line that is not JSON or does not fit)
"""

import base64
import binascii
import json
import re

_SOCKET = {"proto": "string", "local": "string", "remote": "string", "state": "string",
           "recv_q": "integer", "send_q": "integer"}
_TCP = {"rtt_ms": "number|null", "rttvar_ms": "number", "retransmits": "integer",
        "cwnd": "integer"}
_TLS_SESSION = {"tls_version": "string|null", "cipher": "string|null", "alpn": "string|null",
                "sni": "string|null", "peer_subject": "string|null"}
_TLS_CHECK = {"tls_ms": "number|null", "tls_version": "string|null", "cipher": "string|null",
              "alpn": "string|null", "subject": "string|null", "issuer": "string|null",
              "san": "array<string>|null", "not_before": "string|null",
              "not_after": "string|null", "days_left": "integer|null",
              "sha256": "string|null", "verify": "string|null"}
_STATS = ("min_ms", "avg_ms", "max_ms", "stddev_ms", "p50_ms", "p90_ms", "p99_ms")
_HEAD = {"event": "string", "time": "string"}


def _keys(*parts):
    out = dict(_HEAD)
    for p in parts:
        out.update(p)
    return out


SCHEMA = {
    "listen": _keys(_SOCKET, {"sha256": "string|null"}),
    "established": _keys(_SOCKET, _TLS_SESSION, _TCP),
    "closed": _keys(_SOCKET, {"rx": "integer", "tx": "integer", "duration_s": "number",
                              "reason": "string", "err": "string", "tls_error": "string"}, _TCP),
    "refused": _keys(_SOCKET, {"reason": "string", "err": "string"}),
    "message": _keys({"proto": "string", "local": "string", "remote": "string",
                      "data": "string", "reply": "string", "data_b64": "string",
                      "reply_b64": "string"}),
    "data": _keys({"dir": "string", "peer": "string", "len": "integer",
                   "data_b64": "string"}),
    "summary": _keys({"clients": "integer", "refused": "integer", "rx": "integer",
                      "tx": "integer", "messages": "integer", "errors": "integer",
                      "duration_s": "number"}),
    "probe": _keys({"proto": "string", "local": "string", "remote": "string",
                    "state": "string", "rtt_ms": "number|null", "seq": "integer",
                    "error": "string", "up_s": "number|null", "got": "string|null"}, _TLS_CHECK),
    "probe_stats": _keys({"proto": "string", "remote": "string", "state": "string",
                          "sent": "integer", "received": "integer", "loss_percent": "number"},
                         {k: "number|null" for k in _STATS},
                         {"tls_" + k: "number|null" for k in _STATS}),
    "probe_summary": _keys({"endpoints": "integer", "states": "object<integer>",
                            "duration_s": "number", "resolved": "object<array<string>>"}),
}

OPTIONAL = {
    "listen": [("sha256",)],                                  # --tls
    "established": [tuple(_TLS_SESSION), tuple(_TCP)],        # --tls; -v on TCP
    "closed": [("tls_error",), tuple(_TCP)],                  # reason "tls"; -v on TCP
    "probe": [tuple(_TLS_CHECK)],                             # --tls, once connected
    "probe_stats": [tuple("tls_" + k for k in _STATS)],       # --tls
}

# The keys of probe_summary's "states", every one always there, in this order.
STATES = ("open", "closed", "filtered", "unreachable", "open_filtered", "badecho", "noecho",
          "badtls", "expiring", "error")

# Values with more to them than their type.
TIME = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_BASE64_KEYS = ("data_b64", "reply_b64")
_STATE_WORDS = {"listen": "LISTEN", "established": "ESTABLISHED", "closed": "CLOSED",
                "refused": "REFUSED"}


def _key_types():
    types = {}
    for event, keys in SCHEMA.items():
        for key, t in keys.items():
            if types.setdefault(key, t) != t:
                raise AssertionError(f"json_schema: key {key!r} has type {types[key]!r} and "
                                     f"{t!r} ({event})")
    return types


KEY_TYPES = _key_types()  # key -> its one type; building it checks there is only one


class SchemaError(AssertionError):
    pass


def fits(value, t: str) -> bool:
    """Whether a decoded JSON value is of schema type t."""
    if "|" in t:
        return any(fits(value, one) for one in t.split("|"))
    if t == "null":
        return value is None
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    m = re.fullmatch(r"(array|object)<(.+)>", t)
    if m is None:
        raise ValueError(f"unknown schema type {t!r}")
    kind, inner = m.groups()
    if kind == "array":
        return isinstance(value, list) and all(fits(v, inner) for v in value)
    return isinstance(value, dict) and all(fits(v, inner) for v in value.values())


def validate(obj, order=None):
    """The problems of one decoded object ([] when it fits). order: its keys as written,
    when known (check_line passes them), to check event, then time, then SCHEMA's order."""
    if not isinstance(obj, dict):
        return [f"not an object: {obj!r}"]
    event = obj.get("event")
    if event not in SCHEMA:
        return [f"unknown event {event!r}"]
    schema = SCHEMA[event]
    problems = []
    optional = [k for group in OPTIONAL.get(event, ()) for k in group]
    missing = [k for k in schema if k not in obj and k not in optional]
    extra = [k for k in obj if k not in schema]
    if missing:
        problems.append(f"{event}: missing keys {missing}")
    if extra:
        problems.append(f"{event}: keys the schema does not have {extra}")
    for group in OPTIONAL.get(event, ()):
        present = [k for k in group if k in obj]
        if present and len(present) != len(group):
            problems.append(f"{event}: of the keys {list(group)} only {present} are there")
    for key, value in obj.items():
        if key in schema and not fits(value, schema[key]):
            problems.append(f"{event}: {key} is {value!r}, not {schema[key]}")
    if isinstance(obj.get("time"), str) and not TIME.match(obj["time"]):
        problems.append(f"{event}: time {obj['time']!r} is not RFC 3339 UTC with microseconds")
    for key in _BASE64_KEYS:
        if isinstance(obj.get(key), str):
            try:
                base64.b64decode(obj[key], validate=True)
            except (binascii.Error, ValueError):
                problems.append(f"{event}: {key} {obj[key]!r} is not standard base64")
    if event in _STATE_WORDS and obj.get("state") != _STATE_WORDS[event]:
        problems.append(f"{event}: state is {obj.get('state')!r}, not {_STATE_WORDS[event]!r}")
    if event == "probe_summary" and isinstance(obj.get("states"), dict):
        if tuple(obj["states"]) != STATES:
            problems.append(f"probe_summary: states has {list(obj['states'])}, not {list(STATES)}")
    if order is not None and not problems:
        want = [k for k in schema if k in obj]
        if list(order) != want:
            problems.append(f"{event}: keys in the order {list(order)}, not {want}")
    return problems


def check_line(line):
    """The object of one JSON line (str or bytes, with or without its newline); raises
    SchemaError when it is not one JSON object, has a key twice, or does not fit."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SchemaError(f"JSON line is not UTF-8 ({e}): {line!r}")
    text = line[:-1] if line.endswith("\n") else line
    pairs = []

    def hook(items):
        pairs.append([k for k, _ in items])
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise SchemaError(f"a key twice in {text!r}")
        return dict(items)

    try:
        obj = json.loads(text, object_pairs_hook=hook)
    except ValueError as e:
        raise SchemaError(f"not a JSON line ({e}): {text!r}")
    problems = validate(obj, order=pairs[-1] if pairs and isinstance(obj, dict) else None)
    if problems:
        raise SchemaError(f"JSON line breaks the schema: {'; '.join(problems)}: {text}")
    return obj


def check_output(data, cut_ok=False):
    """Every line of a --json run's stdout (bytes or str); the objects. A last line without
    its newline is a cut line, and fails too, unless cut_ok (the process was killed)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    lines = data.split(b"\n")
    last = lines.pop()  # b"" after a final newline
    if last and not cut_ok:
        raise SchemaError(f"JSON output does not end with a newline: ...{data[-200:]!r}")
    return [check_line(line) for line in lines]
