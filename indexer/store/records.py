"""Whole threads as JSON records in a store (the thread page reads them back)."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..ingest.model import Comment, Thread


def thread_record(t: Thread, first_passage: int | None = None) -> str:
    """Serialise a thread for a thread store.

    With ``first_passage`` (the document number of the thread's first passage in the
    passages index) the texts the passages already store are left out: the post's
    paragraphs and each comment's, unless one of a comment's paragraphs holds a line
    break (its passage joins them with line breaks, so they could not be told apart).
    """
    comments = []
    for c in t.comments:
        d: dict[str, object] = {"position": c.position, "author": c.author, "date": c.date,
                                "reply_to": c.reply_to}
        if first_passage is not None and not any("\n" in p for p in c.paragraphs):
            d["n"] = len(c.paragraphs)
        else:
            d["paragraphs"] = c.paragraphs
        comments.append(d)
    data: dict[str, object] = {"id": t.id, "title": t.title, "comments": comments,
                               "url": t.url, "author": t.author, "date": t.date}
    if first_passage is None:
        data["paragraphs"] = t.paragraphs
    else:
        data["first"], data["n"] = first_passage, len(t.paragraphs)
    return json.dumps(data, ensure_ascii=False)


def thread_from_record(data: str, passage_text: Callable[[int], str] | None = None) -> Thread:
    """Rebuild a Thread from a thread store (``passage_text`` reads left-out texts)."""
    d = json.loads(data)
    first = d.get("first")

    def text(i: int) -> str:
        if passage_text is None:
            raise ValueError("this thread's texts are in the passages index")
        return passage_text(first + i)

    n_post = d["n"] if first is not None else 0
    paragraphs = (tuple(d["paragraphs"]) if first is None
                  else tuple(text(i) for i in range(n_post)))
    comments = []
    for k, c in enumerate(d["comments"]):
        paras = (tuple(c["paragraphs"]) if "paragraphs" in c
                 else tuple(text(n_post + k).split("\n")) if c["n"] else ())
        comments.append(Comment(c["position"], c["author"], c["date"], paras,
                                tuple(c["reply_to"])))
    return Thread(id=d["id"], title=d["title"], paragraphs=paragraphs,
                  comments=tuple(comments), url=d["url"], author=d["author"], date=d["date"])
