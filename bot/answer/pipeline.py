"""One question in, one verified Answer out: retrieve, gate on support, generate, verify, format.

The CLI, chat and Discord all call Answerer.ask; none of them holds pipeline logic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypedDict

import numpy as np

from bot.answer import extractive
from bot.answer.condense import Turn, standalone_question
from bot.answer.dates import no_article
from bot.answer.direct import MISSING, extract
from bot.answer.disagreement import DISAGREE, conflict
from bot.answer.generation import fit_to_context, stream_drafts
from bot.answer.language import detect_language, message
from bot.answer.prompting import Prompts
from bot.answer.question import Evidence, Question
from bot.answer.records import Answer, Citation, Sentence, Statement
from bot.answer.sources import SourceFiles
from bot.answer.support import SupportModel, SupportScorer, candidate_sentences, top_sentences
from bot.answer.verify import Verified, Verifier
from bot.llm.base import Generator
from bot.llm.factory import LlamaGenerator, find_model
from bot.settings import Settings
from index.embedding.base import Embedder
from index.progress import Progress
from index.records import Hit
from index.search.hybrid import Searcher, check_question
from index.service import open_searcher


class _Common(TypedDict):
    """The Answer fields that every outcome of one question shares."""

    question: str
    mode: str
    language: str
    hits: tuple[Hit, ...]
    standalone: str
    support: float


class Answerer:
    """Holds the searcher, the support model and (optionally) the language model, loaded once."""

    def __init__(self, settings: Settings, searcher: Searcher, generator: Generator | None = None,
                 prompts: Prompts | None = None, support: SupportModel | None = None,
                 progress: Progress | None = None) -> None:
        self.settings = settings
        self.searcher = searcher
        self.generator = generator
        self.prompts = prompts or Prompts.load(settings.answer.prompts_dir)
        self.support = support or SupportModel.load()
        self.threshold = settings.answer.abstain_threshold or self.support.threshold
        self.progress = progress or Progress(enabled=False)
        self._scorer_for: object = None  # the reader self.scorer was built for (compared by identity)
        self._sync_scorer()

    @classmethod
    def open(cls, settings: Settings, progress: Progress | None = None,
             notify: Callable[[str], None] = lambda message: None,
             embedder: Embedder | None = None) -> Answerer:
        """Open the index (building it if needed) and the model; no model means extractive mode."""
        prompts = Prompts.load(settings.answer.prompts_dir)  # fail on a bad template before slow loading
        server = bool(settings.model.llm_url) and not settings.answer.extractive
        path = None if settings.answer.extractive or server else find_model(settings, notify)
        searcher = open_searcher(settings, progress, notify, embedder)
        generator: Generator | None = None
        if server:
            from bot.llm.server import ServerGenerator

            generator = ServerGenerator.from_settings(settings.model)
        elif not settings.answer.extractive:
            if path is None:
                notify("no language model available (offline, none configured): answering in extractive mode")
            else:
                with (progress or Progress(enabled=False)).spinner(f"loading {path.name}"):
                    lora = Path(settings.model.lora).expanduser() if settings.model.lora else None
                    generator = LlamaGenerator(path, settings.model.n_ctx, settings.model.n_threads, lora)
        return cls(settings, searcher, generator, prompts, progress=progress)

    @property
    def mode(self) -> str:
        """'llm' when a model is loaded, else 'extractive'."""
        return "llm" if self.generator is not None else "extractive"

    def _sync_scorer(self) -> None:
        reader = self.searcher.reader
        if reader is not self._scorer_for:
            self.scorer = SupportScorer(self.searcher.analyzer, reader.document_frequency, reader.size,
                                        self.searcher.embedder, self.support)
            self._scorer_for = reader

    def ask(self, question: str, history: list[Turn] | None = None,
            on_statement: Callable[[Statement, tuple[Citation, ...]], None] | None = None) -> Answer:
        """Answer one question (a follow-up when history is given).

        `on_statement` is called with each statement of a model's answer as soon as it is
        verified and grounded, with every citation numbered so far (the statement's own are
        `statement.citations`), before the model writes the next one.
        """
        text = check_question(question, self.settings)
        language = detect_language(text, default=self._default_language)
        standalone = standalone_question(text, history or [], self.searcher.analyzer, language,
                                         self.generator, self.prompts, self.settings.retrieval.max_question_chars)
        asked = Question.build(text, self.searcher.analyzer, standalone, language, self._default_language)
        found = self.searcher.search(asked.standalone, self.settings.retrieval.k)
        self._sync_scorer()  # the search may have moved to a newer index generation
        if found.period is not None and not found.hits:  # no article of, or naming, the period the question names
            return Answer(question=text, text=no_article(found.period, language), abstained=True,
                          mode=self.mode, language=language, citations=(), hits=(), standalone=standalone,
                          period=found.period)
        answer = self._answer_from(asked, found.hits, on_statement)
        return replace(answer, period=found.period) if found.period is not None else answer

    def read(self, question: str, hits: tuple[Hit, ...]) -> Answer:
        """Answer from these passages alone, without searching: the reader as a benchmark measures it."""
        text = check_question(question, self.settings)
        self._sync_scorer()
        asked = Question.build(text, self.searcher.analyzer, default_language=self._default_language)
        return self._answer_from(asked, hits, None)

    @property
    def _default_language(self) -> str:
        # A question of names alone ("Poutine ? Kim ?") is taken to be in the corpus's language.
        return "en" if self.settings.index.language == "english" else "fr"

    def _answer_from(self, asked: Question, hits: tuple[Hit, ...],
                     on_statement: Callable[[Statement, tuple[Citation, ...]], None] | None) -> Answer:
        """Gate on support, draw the direct answer, then quote or generate, every citation verified."""
        sentences = candidate_sentences(hits)
        evidence = Evidence(hits, tuple(sentences), self.scorer.score(asked, hits, sentences))
        base = _Common(question=asked.text, mode=self.mode, language=asked.language, hits=hits,
                       standalone=asked.standalone, support=evidence.support)
        if evidence.support < self.threshold:
            return _answer(base, Verified("", (), ()))
        # Each cited file is read once per answer, however many verifications cite it.
        sources = SourceFiles(self.searcher.reader.article, self.settings.index.max_article_bytes,
                              self.settings.index.home)
        chosen = extractive.select(sentences, evidence.probabilities, self.threshold,
                                   max(DIRECT_SENTENCES, self.settings.answer.max_statements), self.searcher.analyzer)
        verifier = Verifier(hits, self.searcher.analyzer, sources, asked.standalone)
        direct = self._direct(asked, evidence, chosen, verifier)
        if direct == MISSING:  # the question asks a value the supporting sentences do not hold
            return _answer(base, Verified("", (), ()))
        if self.generator is None:
            return _answer(base, self._extractive(chosen, asked, verifier), lead="" if direct else "extractive")
        if direct is not None and on_statement is not None:  # the short answer first, before the model starts
            on_statement(Statement(_MARKERS.sub("", direct.text).strip(), tuple(p.n for p in direct.parts)),
                         tuple(verifier.citations.values()))
        shown = top_sentences(sentences, evidence.probabilities, self.settings.answer.max_sentences)
        verified = self._generate(asked, evidence, shown, verifier, on_statement)
        if verified is None:  # not one sentence fits the model's context window: nothing was asked
            return _answer(base, Verified("", (), (NO_ROOM,)))
        if verified.statements:
            return _answer(base, verified)
        # Nothing the model wrote survived: the direct answer or the best sentences alone, and say so.
        fallback = self._extractive(chosen, asked, verifier)
        return _answer(base, fallback, lead="fallback", rejected=verified.rejected)

    def _direct(self, asked: Question, evidence: Evidence, chosen: list[Sentence], verifier: Verifier):
        """The short answer drawn from the best sentences and verified, None, or MISSING (abstain)."""
        draft = extract(asked, chosen, self.searcher.analyzer, self.scorer.idf(set(asked.stems)))
        if draft is not None and draft.form == MISSING:
            return MISSING
        # Both sides when articles disagree: a side may be any sentence near the threshold, since it must
        # also give the very thing the question names a rank or count (bot/answer/disagreement.py).
        near = [evidence.sentences[i] for i in np.argsort(-evidence.probabilities, kind="stable")
                if evidence.probabilities[i] >= DISAGREE_FLOOR * self.threshold]
        draft = conflict(asked, near, self.searcher.analyzer) or draft
        if draft is None:
            return None
        return verifier.add_direct(draft, asked)

    def _extractive(self, chosen: list[Sentence], asked: Question, verifier: Verifier) -> Verified:
        """The direct answer, then the other best sentences quoted whole (all of them without a direct answer)."""
        used = {id(p.sentence) for p in verifier.direct_pieces}
        rest = [s for s in chosen[:self.settings.answer.max_statements] if id(s) not in used]
        if verifier.direct is not None and verifier.direct.form == DISAGREE:
            rest = []  # both sides are quoted already; a third quote would only blur them
        for draft in extractive.draft(rest, asked.language):
            verifier.add(draft)
        return verifier.result()

    def _generate(self, asked: Question, evidence: Evidence, sentences: list[Sentence], verifier: Verifier,
                  on_statement) -> Verified | None:
        """The model's verified statements; None when no sentence fits its context window."""
        assert self.generator is not None
        messages, kept = fit_to_context(self.generator, self.prompts, asked, sentences, evidence.hits,
                                        self.settings)
        if not kept:
            return None
        problems: list[str] = []
        with self.progress.spinner("thinking") as halt:
            for draft in stream_drafts(self.generator, messages, kept, self.settings, problems):
                statement = verifier.add(draft)
                if statement is not None and on_statement is not None:
                    halt()  # the spinner shares the terminal with the streamed statements
                    on_statement(statement, tuple(verifier.citations.values()))
        verifier.rejected[:0] = problems
        return verifier.result()


# Sentences the direct answer may draw from (a list gathers its items across them).
DIRECT_SENTENCES = 4
# A side of a disagreement needs this fraction of the abstention threshold (it must name the asked thing too).
DISAGREE_FLOOR = 0.5
_MARKERS = re.compile(r"\s*\[\d+\]")
NO_ROOM = "no passage fits the model's context window; raise n_ctx or lower max_tokens"


def _answer(base: _Common, verified: Verified, lead: str = "", rejected: tuple[str, ...] = ()) -> Answer:
    """The Answer for verified statements (an abstention when none survived), under an optional lead-in."""
    language = base["language"]
    rejected = rejected + verified.rejected
    if not verified.citations:
        return Answer(text=message(language, "abstain"), abstained=True, citations=(), rejected=rejected,
                      stale=verified.stale, **base)
    text = f"{message(language, lead)} {verified.text}" if lead and verified.direct is None else verified.text
    if verified.direct is not None and lead and verified.statements:  # the other quotes, under their lead-in
        rest = " ".join(s.display for s in verified.statements)
        text = f"{verified.direct.text} {message(language, 'also')} {rest}"
    return Answer(text=text, abstained=False, citations=verified.citations, rejected=rejected,
                  statements=verified.statements, fallback=lead == "fallback", stale=verified.stale,
                  direct=verified.direct, **base)
