"""The one home of secret redaction: every URL, header or config that reaches the store, a log,
an export or a report goes through here first.

- `redact_url(url)` drops user info (`http://user:KEY@host` -> `http://host`) and masks query
  parameters that carry secrets (`?api_key=...`, `?token=...`, `?sig=...`).
- `redact_headers(headers)` masks Authorization, API-key and cookie headers.
- `redact_config(value)` walks a config (dicts, lists, strings) and applies both, and masks
  values stored under secret-looking keys (api_key, token, password, secret, authorization).
- `redact_text(text)` masks URL user info, bearer tokens, secret query values and secret
  command-line options (`--api-key X`, `TOKEN=X`) inside free text (error messages, the
  command line of a process holding the store).
Masked values read "***" so a reader sees that something was there.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_KEY = re.compile(
    r"(.*(api[_-]?key|apikey|access[_-]?token|auth[_-]?token|secret|password|passwd|authorization|cookie|credentials?)"
    r"|token|key|sig|signature|auth)",
    re.I,
)
# scheme://user[:password]@ inside any text
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
# "--api-key sk-...", "--token=abc", "OPENAI_API_KEY=sk-..." on a command line
_SECRET_OPTION = re.compile(
    r"((?i:--[a-z-]*(?:api-?key|token|password|secret)(?:=|\s+))"
    r"|\b[A-Za-z_]*(?:API_KEY|api_key|TOKEN|token|PASSWORD|password|SECRET|secret)=)(?!\*\*\*)[^\s\"']+"
)
_SECRET_PARAM = re.compile(
    r"(?i)([?&](?:api[_-]?key|apikey|key|token|access_token|secret|password|sig|signature)=)[^&\s#]+"
)


def _secret_key(name: str) -> bool:
    # "api_key_env" names an environment variable, not a key: keep it.
    return bool(_SECRET_KEY.fullmatch(name)) and not name.lower().endswith(("_env", "-env"))


def redact_url(url: str | None) -> str | None:
    """`url` without user info and with secret query parameters masked."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if not parts.scheme or not parts.netloc:
        return redact_text(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _secret_key(k) or k.lower() == "key" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of `headers` with credential headers masked."""
    return {k: (MASK if _secret_key(k) else v) for k, v in (headers or {}).items()}


def redact_text(text: str | None) -> str | None:
    """Free text (an error message, a log line) with URL user info, bearer tokens and secret query values masked."""
    if not text:
        return text
    text = _USERINFO.sub(lambda m: m.group("scheme"), text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _SECRET_OPTION.sub(lambda m: m.group(1) + MASK, text)
    return _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)


def redact_config(value: Any, key: str = "") -> Any:
    """A copy of a config value (dict / list / tuple / str / other) safe to store or print."""
    if isinstance(value, dict):
        return {k: redact_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_config(v, key) for v in value)
    if isinstance(value, str):
        if key and _secret_key(key) and value:
            return MASK
        if "://" in value:
            return redact_url(value) if "\n" not in value and " " not in value.strip() else redact_text(value)
        return value
    return value
