"""Language-aware tokens for BM25: elisions, stop words, Snowball stems and exact forms."""

from __future__ import annotations

import re
from functools import lru_cache

from index.text import fold

ANALYZER_VERSION = 3  # bump when tokens change: the manifest then asks for a rebuild

_FRENCH_STOP = """
a au aux avec ce ces dans de des du elle en et eux il ils je la le les leur leurs lui ma mais me
meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi
ton tu un une vos votre vous c d j l m n s t y ete etee etees etes etant suis es est sommes sont
serai seras sera serons serez seront serais serait serions seriez seraient etais etait etions
etiez etaient fus fut fumes futes furent sois soit soyons soyez soient ayant eu eue eues eus ai
as avons avez ont aurai auras aura aurons aurez auront aurais aurait aurions auriez auraient
avais avait avions aviez avaient eut eurent aie aies ait ayons ayez aient quel quelle quels
quelles quoi comment combien quand pourquoi lequel laquelle lesquels lesquelles dont cette cet
ceux celle celles celui ci la plus moins tres aussi ainsi alors donc car si tout tous toute
toutes autre autres cela ca
"""
_ENGLISH_STOP = """
a an and are as at be been being but by can could did do does doing for from had has have having
he her hers him his how i if in into is it its me my of on or our ours she so than that the their
them then there these they this those to too was we were what when where which while who whom
why will with would you your yours
"""
STOP_WORDS = {
    "french": frozenset(_FRENCH_STOP.split()),
    "english": frozenset(_ENGLISH_STOP.split()),
}
# French elided articles and pronouns glued to the next word by an apostrophe.
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’](?=\w)", re.I)
_TOKEN = re.compile(r"\w+")


@lru_cache(maxsize=8)
def _stemmer(language: str):
    import Stemmer  # PyStemmer: Snowball stemmers compiled in C

    try:
        return Stemmer.Stemmer(language)
    except KeyError:
        return None


class Analyzer:
    """Turns text into BM25 terms: folded Snowball stems plus exact folded word forms.

    Stems match inflections ("venus" / "venue"); exact forms reward the very word used
    in the question. Measured on PIAF, indexing both beats either alone.
    """

    def __init__(self, language: str = "french") -> None:
        self.language = language
        self.stop = STOP_WORDS.get(language, frozenset())
        self.stemmer = _stemmer(language)

    def words(self, text: str) -> list[str]:
        """Lowercased content words (accents kept), without elisions and stop words."""
        if self.language == "french":
            text = _ELISION.sub(" ", text)
        return [w for w in _TOKEN.findall(text.lower()) if fold(w) not in self.stop and w != "_"]

    def _stems(self, words: list[str]) -> list[str]:
        # Snowball needs the accents ("arrivée" and "arrivant" -> "arriv"), so fold afterwards.
        stems = self.stemmer.stemWords(words) if self.stemmer is not None else words
        return [fold(s) for s in stems]

    def stems(self, text: str) -> list[str]:
        """Folded stems of the content words: the unit of lexical matching."""
        return self._stems(self.words(text))

    def terms(self, text: str) -> list[str]:
        """BM25 index terms: stems plus '='-prefixed exact folded forms.

        The exact forms also let a question typed without accents ("arrivee") match.
        """
        words = self.words(text)
        return self._stems(words) + ["=" + fold(w) for w in words]
