"""Write API: ``POST /api/threads`` (JSON Lines) and ``DELETE /api/threads/<id>``, behind a token.

Registered only when the ``FIL_WRITE_TOKEN`` setting is set: without it these routes
answer 404 like any unknown address. Every request needs ``Authorization: Bearer
<token>`` (compared in constant time): 401 without it, 403 with a wrong one. Each
client (by address) has a token bucket (``PUSH_BURST`` requests, refilled at
``PUSH_RATE`` per second): past it, 429 with ``Retry-After``. Bodies may reach
``MAX_PUSH_BYTES`` (16 MiB) on these routes only; the rest of the app refuses more
than 16 KiB.

A body holds one thread per line, read by the same rules as a ``.jsonl`` file
(:func:`indexer.ingest.parsing.iter_data_threads`): a bad line is rejected on its own
and named by number, the others are applied. Threads whose id is in the index are
replaced when their content changed and left alone when not; the answer counts
``added``, ``replaced``, ``unchanged`` and lists ``rejected`` lines. A running server
sees the change at its next request (the index's manifest is checked per request).
Errors are ``{"error": …}`` in French.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from indexer.errors import IndexWriteError, RebuildLockedError, UnsupportedError
from indexer.ingest.parsing import Fault, ReadReport, iter_data_threads
from indexer.service import Service

from .errors import error_response
from .messages import NBSP, NNBSP, quote
from .state import get_service

bp = Blueprint("push", __name__)

MAX_PUSH_BYTES = 16 * 1024 * 1024
PUSH_RATE = 2.0  # requests per second, per client, once the burst is spent
PUSH_BURST = 20
LOCK_WAIT_SECONDS = 60.0  # a push waits this long for the one before it in this process
BODY_NAME = "requête"  # what the ingest report calls the body (its "path")

#: French wording of the ingest fault codes a pushed line can get.
FAULTS_FR = {
    "invalid-json": "JSON invalide",
    "invalid-record": "ce n’est pas un fil de discussion valable",
    "empty": "aucun texte (billet et commentaires vides)",
    "mojibake": "texte doublement encodé (« Ã© ») impossible à réparer",
    "duplicate-id": "identifiant déjà donné plus haut dans la requête",
    "binary": "données binaires",
    "too-long": "ligne trop longue",
    "truncated": "ligne coupée au milieu d’un caractère",
    "read-error": "texte illisible",
}


@dataclass(slots=True)
class Bucket:
    """One client's allowance: tokens left and when they were counted."""

    tokens: float
    at: float


@dataclass(slots=True)
class RateLimiter:
    """Token buckets by client key (thread-safe); forgets clients whose bucket is full."""

    rate: float
    burst: int
    buckets: dict[str, Bucket] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until one is available."""
        now = time.monotonic()
        with self.lock:
            b = self.buckets.get(key)
            if b is None:
                if len(self.buckets) > 10_000:
                    self._forget_idle(now)
                b = self.buckets[key] = Bucket(float(self.burst), now)
            b.tokens = min(float(self.burst), b.tokens + (now - b.at) * self.rate)
            b.at = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self.rate if self.rate > 0 else math.inf

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, b in self.buckets.items()
                    if b.tokens + (now - b.at) * self.rate >= self.burst]:
            del self.buckets[key]


@dataclass(slots=True)
class PushState:
    """Per app: the token, the rate limiter, the lock that orders this process's pushes."""

    token: bytes
    limiter: RateLimiter
    lock: threading.Lock = field(default_factory=threading.Lock)


def install(app: Flask, token: str) -> None:
    """Enable the write API on ``app`` for requests bearing ``token``."""
    app.config.setdefault("MAX_PUSH_BYTES", MAX_PUSH_BYTES)
    app.config.setdefault("PUSH_RATE", PUSH_RATE)
    app.config.setdefault("PUSH_BURST", PUSH_BURST)
    app.extensions["fil.push"] = PushState(
        token.encode("utf-8"),
        RateLimiter(float(app.config["PUSH_RATE"]), int(app.config["PUSH_BURST"])))
    app.register_blueprint(bp, url_prefix="/api")


def _state() -> PushState:
    return current_app.extensions["fil.push"]


def _json_error(status: int, message: str, **extra: Any) -> Response:
    resp = jsonify({"error": message, **extra})
    resp.status_code = status
    return resp


@bp.before_request
def guard() -> Response | None:
    """Rate limit, then the token, then the declared body size."""
    state = _state()
    wait = state.limiter.take(request.remote_addr or "?")
    if wait:
        resp = _json_error(429, f"Trop de requêtes{NBSP}: réessayez dans "
                           f"{math.ceil(wait)}{NBSP}s.")
        resp.headers["Retry-After"] = str(math.ceil(wait))
        return resp
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        resp = _json_error(401, f"Authentification requise{NBSP}: envoyez l’en-tête "
                           f"{quote('Authorization: Bearer <jeton>')}.")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="fil"'
        return resp
    if not hmac.compare_digest(given.strip().encode("utf-8"), state.token):
        return _json_error(403, "Jeton refusé.")
    limit = current_app.config["MAX_PUSH_BYTES"]
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    return None


def _fault_json(f: Fault) -> dict[str, Any]:
    return {"line": f.line, "code": f.code, "error": FAULTS_FR.get(f.code, "ligne refusée"),
            "detail": f.reason}


def _busy() -> Response:
    resp = _json_error(503, f"Une autre modification de l’index est en cours{NNBSP}; "
                       "réessayez dans un instant.")
    resp.headers["Retry-After"] = "5"
    return resp


def _unsupported(exc: UnsupportedError) -> Response:
    return _json_error(501, f"Ce stockage ({exc.backend}) ne permet pas encore les mises à jour "
                       "une à une.")


def _write_failed(exc: IndexWriteError) -> Response:
    current_app.logger.error("push: %s", exc)
    resp = _json_error(503, "L’index n’a pas pu être écrit (disque plein ou interdit en "
                       f"écriture){NNBSP}; il est resté tel qu’il était.")
    resp.headers["Retry-After"] = "60"
    return resp


R = TypeVar("R")


def _write(change: Callable[[Service], R]) -> R | Response:
    """Run one change of the index under this process's write lock; a busy index, a
    store that cannot change, or a failed write as its error response."""
    state = _state()
    if not state.lock.acquire(timeout=LOCK_WAIT_SECONDS):
        return _busy()
    try:
        return change(get_service())
    except RebuildLockedError:
        return _busy()
    except UnsupportedError as exc:
        return _unsupported(exc)
    except IndexWriteError as exc:
        return _write_failed(exc)
    finally:
        state.lock.release()


@bp.post("/threads")
def add_threads() -> Response:
    """Add or replace the threads of a JSON Lines body; report what happened to each."""
    data = request.get_data(cache=False)
    if not data.strip():
        return _json_error(400, f"Le corps de la requête est vide{NBSP}: envoyez un fil par "
                           "ligne (JSON Lines).")
    report = ReadReport()
    threads = list(iter_data_threads(data, BODY_NAME, report))
    rejected = [_fault_json(f) for f in report.rejected]
    warnings = [{"line": w.line, "code": w.code, "detail": w.reason} for w in report.warnings]
    if not threads:
        return _json_error(400, "Aucun fil valable dans la requête.", rejected=rejected,
                           warnings=warnings)
    done = _write(lambda service: service.update(threads))
    if isinstance(done, Response):
        return done
    current_app.logger.info("push: %d added, %d replaced, %d unchanged, %d rejected",
                            done.added, done.replaced, done.unchanged, len(rejected))
    return jsonify({"added": done.added, "replaced": done.replaced,
                    "unchanged": done.unchanged, "rejected": rejected, "warnings": warnings,
                    "passages": done.passages, "merged": done.merged})


@bp.delete("/threads/<tid:thread_id>", merge_slashes=False)
def delete_thread(thread_id: str) -> Response:
    """Remove one thread by id; 404 when the index has none by that id."""
    done = _write(lambda service: service.delete([thread_id]))
    if isinstance(done, Response):
        return done
    if done.missing:
        return error_response(404, "Aucun fil de discussion ne porte cet identifiant.")
    current_app.logger.info("push: deleted %r", thread_id)
    return jsonify({"deleted": done.deleted, "merged": done.merged})
