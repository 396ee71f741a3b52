"""Language-aware tokens for BM25: elisions, stop words, Snowball stems and exact forms."""

from __future__ import annotations

import re
from functools import lru_cache

from index.articles.text import fold

ANALYZER_VERSION = 7  # bump when tokens or BM25 parameters change: the manifest then asks for a rebuild

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
toutes autre autres cela ca lors
"""
# Light verbs: so frequent and so vague that a question using them ("est-il venu", "a-t-il fait")
# says nothing the answer must repeat. Treated as stop words.
_FRENCH_LIGHT_VERBS = """
venir viens vient venons venez viennent venu venue venus venues venait venaient viendra viendront
aller va vais allons allez vont alle allee alles allees allait allaient ira iront
faire fais fait faits faite faites faisons font faisait faisaient fera feront
dire dis dit dits dite dites disons disent disait disaient dira
pouvoir peut peux peuvent pu pouvait pouvaient pourra pourront pourrait pourraient
vouloir veut veux veulent voulu voulait voudra voudrait
devoir doit dois doivent du due dus devait devaient devra devrait devraient
mettre met mettent mis mise mettait prendre prend prennent pris prise prenait
"""
_ENGLISH_LIGHT_VERBS = """
come comes came coming go goes went gone going make makes made making get gets got gotten getting
take takes took taken say says said can could may might must shall should
"""
_ENGLISH_STOP = """
a and are as at be been being but by can could did do does doing for from had has have having
he her hers him his how i if in into is it its me my of on or our ours she so than that the their
them then there these they this those to too was we were what when where which while who whom
why will with would you your yours
"""
# English function words are stop words for French too: people ask about French articles in
# English ("Who is John Kirby?") and these words never carry French meaning.
STOP_WORDS = {
    "french": frozenset(_FRENCH_STOP.split() + _FRENCH_LIGHT_VERBS.split() + _ENGLISH_STOP.split()),
    "english": frozenset(_ENGLISH_STOP.split() + _ENGLISH_LIGHT_VERBS.split()),
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
    """Turns text into BM25 terms: folded Snowball stems, exact folded word forms and stem pairs.

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
        if self.language == "french":
            # Snowball keeps the plural verb ending -ent ("accompagnent"); strip it from long stems
            # so that it meets "accompagné" ("accompagn"). Both sides get the same rule.
            stems = [s[:-3] if len(s) >= 7 and s.endswith("ent") else s for s in stems]
        return [fold(s) for s in stems]

    def stems(self, text: str) -> list[str]:
        """Folded stems of the content words: the unit of lexical matching."""
        return self._stems(self.words(text))

    def terms(self, text: str) -> list[str]:
        """BM25 index terms: stems, '='-prefixed exact folded forms and '+'-joined stem pairs."""
        # The exact forms also let a question typed without accents ("arrivee") match. Pairs of
        # neighbouring content words reward a passage that keeps the question's phrases together
        # ("guerre mondiale", "prix Nobel"): +0.3 point recall@5 on PIAF (docs/BENCHMARKS.md).
        words = self.words(text)
        stems = self._stems(words)
        return stems + ["=" + fold(w) for w in words] + [f"{a}+{b}" for a, b in zip(stems, stems[1:])]
