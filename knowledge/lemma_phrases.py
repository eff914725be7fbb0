"""Named lists of phrases from a reviewed content file, found in messages by their lemmas.

The scope list (content/scope.yml) and the aspect words (content/aspects.yml) are both such
lists: "tremors" matches "tremor", "how long did it last" matches "how long does it last".
The phrases are lemmatised by the same spaCy pipeline as the messages.
"""

from __future__ import annotations

from typing import Mapping, Sequence, Tuple

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc


class LemmaPhrases:
    """Finds which of the named phrase lists a doc made by `nlp` contains."""

    def __init__(self, nlp: Language, lists: Mapping[str, Sequence[str]]) -> None:
        """Compiles one lemma matcher for every phrase of every list."""
        self._nlp = nlp
        self._matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        for name, phrases in lists.items():
            self._matcher.add(str(name), [nlp(str(p).lower()) for p in phrases])

    def found(self, doc: Doc) -> Tuple[str, ...]:
        """The names of the lists with a phrase in `doc` (sorted, no duplicates)."""
        return tuple(sorted({self._nlp.vocab.strings[m] for m, _, _ in self._matcher(doc)}))
