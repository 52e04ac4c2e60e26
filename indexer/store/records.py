"""Whole threads as JSON records in a store (the thread page reads them back)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from ..ingest.model import Comment, Thread


def thread_record(t: Thread, with_texts: bool = True) -> str:
    """Serialise a thread for a thread store.

    Without texts, the post's paragraphs and each comment's are left out (the store keeps
    them as passages): only their counts stay, unless one of a comment's paragraphs holds
    a line break (its passage joins them with line breaks, so they could not be told
    apart), in which case that comment keeps its paragraphs.
    """
    comments = []
    for c in t.comments:
        d: dict[str, object] = {"position": c.position, "author": c.author, "date": c.date,
                                "reply_to": c.reply_to}
        if not with_texts and not any("\n" in p for p in c.paragraphs):
            d["n"] = len(c.paragraphs)
        else:
            d["paragraphs"] = c.paragraphs
        comments.append(d)
    data: dict[str, object] = {"id": t.id, "title": t.title, "comments": comments,
                               "url": t.url, "author": t.author, "date": t.date}
    if with_texts:
        data["paragraphs"] = t.paragraphs
    else:
        data["n"] = len(t.paragraphs)
    return json.dumps(data, ensure_ascii=False)


def thread_from_record(data: str, passage_text: Callable[[int], str] | None = None) -> Thread:
    """Rebuild a Thread from its record (``passage_text(i)``: the thread's i-th passage)."""
    d = json.loads(data)

    def text(i: int) -> str:
        if passage_text is None:
            raise ValueError("this thread's texts are in the passages")
        return passage_text(i)

    with_texts = "paragraphs" in d
    n_post = 0 if with_texts else d["n"]
    paragraphs = tuple(d["paragraphs"]) if with_texts else tuple(text(i) for i in range(n_post))
    comments = []
    for k, c in enumerate(d["comments"]):
        paras = (tuple(c["paragraphs"]) if "paragraphs" in c
                 else tuple(text(n_post + k).split("\n")) if c["n"] else ())
        comments.append(Comment(c["position"], c["author"], c["date"], paras,
                                tuple(c["reply_to"])))
    return Thread(id=d["id"], title=d["title"], paragraphs=paragraphs,
                  comments=tuple(comments), url=d["url"], author=d["author"], date=d["date"])


def thread_hash(t: Thread) -> bytes:
    """A digest of everything a thread shows (an unchanged thread has the same digest)."""
    return hashlib.sha1(thread_record(t).encode("utf-8"), usedforsecurity=False).digest()
