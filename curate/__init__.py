"""Curation stages: ingest, generate, verify, score, select, decontaminate, review, export."""
