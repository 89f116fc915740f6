"""Evaluation of base, student and teacher models with the project verifier."""
