"""The app's search service, opened once by ``create_app`` and shared by every request."""

from __future__ import annotations

from flask import Flask, current_app

from indexer.service import Service

EXTENSION = "fil"
SETTINGS_EXTENSION = "fil.settings"


def get_service(app: Flask | None = None) -> Service:
    """The app's search service."""
    return (app or current_app).extensions[EXTENSION]
