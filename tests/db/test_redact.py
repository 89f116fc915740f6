"""db/redact.py: URL user info, secret query parameters, credential headers and secret-named
config values are masked; everything else (env-var names, tokenizer names, counts) is kept."""

from __future__ import annotations

from db.redact import MASK, redact_config, redact_headers, redact_text, redact_url


def test_url_loses_user_info_and_secret_query_values():
    assert redact_url("http://user:sk-KEY@host:8000/v1") == "http://host:8000/v1"
    assert redact_url("https://h/v1?api_key=abc&model=x&key=k") == f"https://h/v1?api_key={MASK}&model=x&key={MASK}"
    assert redact_url("http://h/v1") == "http://h/v1" and redact_url(None) is None


def test_headers_and_config_values_under_secret_names_are_masked():
    assert redact_headers({"Authorization": "Bearer sk-x", "X-Api-Key": "k", "Accept": "json"}) == {
        "Authorization": MASK,
        "X-Api-Key": MASK,
        "Accept": "json",
    }
    config = {
        "base_urls": ("http://u:p@h/v1",),
        "api_key": "sk-1",
        "api_key_env": "OPENAI_API_KEY",
        "tokenizer": "Qwen/Qwen2.5",
        "max_tokens": 10,
        "nested": [{"password": "hunter2"}],
    }
    assert redact_config(config) == {
        "base_urls": ("http://h/v1",),
        "api_key": MASK,
        "api_key_env": "OPENAI_API_KEY",
        "tokenizer": "Qwen/Qwen2.5",
        "max_tokens": 10,
        "nested": [{"password": MASK}],
    }


def test_free_text_loses_user_info_and_bearer_tokens():
    text = redact_text("POST http://me:sk-SECRET@host/v1 failed: Authorization: Bearer sk-SECRET2")
    assert "SECRET" not in text and "http://host/v1" in text
