"""The exported SDL: what ``schema/schema.graphql`` holds and a test compares."""

from __future__ import annotations

from pathlib import Path

from schema.schema import build_schema

SDL_PATH = Path(__file__).with_name("schema.graphql")


def export_sdl() -> str:
    return build_schema().as_str().rstrip() + "\n"
