"""Hypothesis strategies shared by the whole test suite (one module, as STYLE.md asks)."""

from __future__ import annotations
