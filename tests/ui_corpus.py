"""Threads for the page and browser tests: dated over several years, a long comment, a
title with characters that look like markup, beside the seed thread (and, in the browser
tests, the 480 PIAF articles, which have no dates).

``python tests/ui_corpus.py OUT.jsonl`` writes them as JSON Lines (to try the pages by hand:
``python -m indexer rebuild --source index_data/threads --source OUT.jsonl``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FILLER = ("Nous avons longuement parlé du potager, des poules et du voisin qui taille sa "
          "haie tous les samedis matin, sans oublier la question du chauffage au bois.")

#: A thread in 2010 (post and comment dated).
FIBRE = {
    "id": "fibre-2010",
    "title": "La fibre pour tous",
    "url": "https://example.org/fibre",
    "post": {"author": "Jean Michel", "date": "2010-03-01T08:05",
             "paragraphs": ["Le très haut débit arrive enfin dans nos campagnes.",
                            "Un paragraphe sur la connexion, sans rapport."]},
    "comments": [
        {"author": "Anne Marie", "date": "2010-03-02T10:00",
         "paragraphs": ["Le haut débit, chez nous, c'est encore un rêve."]},
    ],
}

#: A thread in 2011 whose second comment is long, its only match near the end; its first
#: comment misspells « connexion » once (a rare word with a frequent neighbour).
LONG_COMMENT = {
    "id": "campagne-2011",
    "title": "Travailler depuis la campagne",
    "post": {"author": "Claire", "date": "2011-06-01T09:00",
             "paragraphs": ["Qui travaille depuis un village, et avec quelle connexion ?"]},
    "comments": [
        {"author": "Paul", "date": "2011-06-01T12:30",
         "paragraphs": ["Moi, depuis trois ans, sans souci, mais la connexiom est lente."]},
        {"author": "Martine", "date": "2011-06-02T21:15",
         "paragraphs": [*[FILLER] * 40,
                        "Bref : le jour où la fibre optique est arrivée, tout a changé."]},
    ],
}

#: A thread in 2012 whose title holds characters that look like markup (kept as text).
MARKUP_TITLE = {
    "id": "balises-2012",
    "title": "Débit : 10 < 20 & <b> n'est pas du gras",
    "post": {"author": "Zoé", "date": "2012-09-10",
             "paragraphs": ["Le débit mesuré chez moi : 20 mégabits, parfois moins, "
                            "selon la connexion."]},
    "comments": [],
}

#: Two more threads in 2009 and 2010 (the date facet then has three years with months).
MORE = [
    {"id": f"forum-{year}-{month:02d}", "title": f"Haut débit et télétravail ({year})",
     "post": {"author": "Luc", "date": f"{year}-{month:02d}-15T18:00",
              "paragraphs": [f"Le haut débit change le travail à distance en {year}, "
                             "quand la connexion tient."]},
     "comments": [{"author": "Inès", "date": f"{year}-{month:02d}-16T08:00",
                   "paragraphs": ["Le débit reste la question."]}]}
    for year, month in ((2009, 11), (2010, 7))
]

UI_THREADS: list[dict[str, Any]] = [FIBRE, LONG_COMMENT, MARKUP_TITLE, *MORE]

_PLACES = ("le Marais", "Belleville", "la Butte-aux-Cailles", "les Batignolles", "Montmartre",
           "la Goutte-d'Or", "le canal Saint-Martin", "Ménilmontant", "la Villette",
           "Charonne")

#: Thirty undated threads about Paris: many results over several pages, for the browser
#: tests when ../shared's PIAF articles (which give them otherwise) are not there.
MANY_THREADS: list[dict[str, Any]] = [
    {"id": f"paris-{i:02d}", "title": f"Paris à pied : {_PLACES[i % 10]} ({i // 10 + 1})",
     "post": {"author": "Odile", "paragraphs": [
         f"Une promenade dans Paris, du côté de {_PLACES[i % 10]}, un dimanche matin.",
         "Les cafés ouvrent tôt et les marchés remplissent les rues."]},
     "comments": [{"author": "Hugo", "paragraphs": [
         f"J'habite Paris depuis {i + 2} ans et je ne connaissais pas ce coin."]}]}
    for i in range(30)
]


def write(path: Path) -> Path:
    """Write the threads as JSON Lines."""
    with path.open("w", encoding="utf-8") as fh:
        for record in UI_THREADS:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
