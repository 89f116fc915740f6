"""Test doubles that are real components: a local OpenAI-compatible HTTP server with fault injection."""
