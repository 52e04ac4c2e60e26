"""French wording of what the library reports as data: query errors and search notices.

French typography: a no-break space before « : », a narrow no-break space before
« ; ! ? », no-break spaces inside « », typographic apostrophes.
"""

from __future__ import annotations

from indexer.errors import QueryError
from indexer.search.results import Notice

NBSP = "\u00a0"  # before a colon, inside guillemets
NNBSP = "\u202f"  # before ; ! ? and between digit groups

#: Shown when no passage holds every word and passages with some of them are ranked.
ANY_WORD_NOTICE = (f"Aucun passage ne contient tous les mots{NNBSP}; voici les passages "
                   "qui en contiennent le plus.")

#: Parameter names as a reader of the page knows them.
_PARAMS = {"page": "page", "per_page": "per_page"}


def quote(text: str) -> str:
    """Text inside French guillemets with no-break spaces: « text »."""
    return f"«{NBSP}{text}{NBSP}»"


def query_error_fr(exc: QueryError) -> str:
    """A query error in French, from its code and fields."""
    f = exc.fields
    name = f.get("name", "")
    value = f.get("value", "")
    limit = f.get("limit", "")
    messages = {
        "not_text": "la recherche doit être du texte",
        "too_long": f"la recherche est trop longue ({f.get('chars')} caractères{NNBSP}; "
                    f"au plus {limit})",
        "too_many_words": f"trop de mots dans la recherche (au plus {limit})",
        "too_deep": f"trop de parenthèses imbriquées (au plus {limit} niveaux)",
        "too_many_prefixes": f"trop de préfixes (mot*) dans la recherche (au plus {limit})",
        "or_exclusion": f"OU ne peut pas relier une exclusion (-mot){NBSP}: écrivez par "
                        f"exemple {quote('lippi -debit')}",
        "missing_value": f"il manque une valeur après {name}: (par exemple "
                         f"{name}:{f.get('example', '')})",
        "bad_kind": f"le filtre {name}: attend billet ou commentaire (post ou comment), "
                    f"pas {quote(value)}",
        "bad_date": f"le filtre {name}: attend une date AAAA-MM-JJ (ou AAAA-MM, AAAA), "
                    f"pas {quote(value)}",
        "invalid_date": f"{quote(value)} n’est pas une date valide (filtre {name}:)",
        "negated_date": f"un filtre de date ne s’exclut pas (-{name}:){NBSP}: utilisez "
                        "après: ou avant:",
        "not_integer": f"le paramètre {_PARAMS.get(name, name)} doit être un nombre entier "
                       f"(reçu{NBSP}: {quote(value)})",
        "out_of_range": f"le paramètre {_PARAMS.get(name, name)} doit être compris entre "
                        f"1 et {limit}",
        "bad_group": f"le paramètre group vaut passage ou thread, pas {quote(value)}",
        "bad_sort": f"le tri vaut relevance (pertinence) ou date, pas {quote(value)}",
    }
    return messages.get(exc.code, "la recherche n’a pas pu être comprise")


def notice_fr(n: Notice) -> str:
    """A search notice in French."""
    if n.code == "prefix_short":
        return (f"{quote(n.word)}{NBSP}: une recherche par préfixe demande au moins "
                f"{n.limit} lettres{NNBSP}; le mot a été cherché tel quel.")
    if n.code == "prefix_capped":
        return (f"{quote(n.word)}{NBSP}: préfixe trop courant, limité aux {n.limit} mots "
                "les plus fréquents.")
    if n.code == "rescued":
        return (f"Aucun passage ne contient {quote(n.word)}{NBSP}: résultats pour "
                f"{quote(n.other)}, le mot le plus proche.")
    if n.code == "timed_out":
        return f"La recherche a été interrompue (trop longue){NBSP}: résultats partiels."
    return n.code
