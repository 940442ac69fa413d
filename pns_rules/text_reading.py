"""Finding the known terms free text names ("skin biopsy consistent with Sweet syndrome"): to read
them as findings, or to suggest them for text that is not read.

A name is read only where the text asserts it. Text is cut into clauses (at semicolons, full
stops and question marks that end a word, brackets, and words such as "but", "however" and
"except"). A negation, a doubt, somebody else, a hypothetical or a set-aside diagnosis ("no",
"possible", "mother", "watch for", "misdiagnosed as") stops every name in its clause from being
read, and in the brackets inside that clause. Brackets that name nothing ("ataxia (not
present)"), and a clause after "but" or "however" that names nothing ("sought but absent"),
qualify what they follow. So "gait ataxia; no diplopia" reads gait ataxia and not diplopia, and
"no fever, weight loss or night sweats" reads nothing.

Most cues reach both ways within their clause; a few only forward ("rash without itching",
"ataxia first attributed to a stroke"), "negative", "normal" and "unremarkable" only back
("MRI normal, gait ataxia"), and "non" and a trailing minus sign only the name they are written
on ("non-smoker", "nystagmus-"). Phrases that hold a cue word but deny nothing ("due to", "did
not improve") and names used in another sense ("ST depression") are set aside first. This
follows the scoped negation of NegEx (Chapman et al. 2001, PMID:12123149) and ConText (Harkema et
al. 2009, PMID:19435614), more cautiously: commas and "and" never end a cue's reach.

The reader finds antibodies too, but the caller does not count them from free text (see
:mod:`pns_rules.patient`): a result's wording is too varied to be read safely.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

from .vocabulary import normalize_term

__all__ = [
    "MAX_SEARCHED_LENGTH",
    "MIN_CONTAINED_LENGTH",
    "Named",
    "TextReader",
    "blocking_cue",
    "contained_terms",
    "ends_with_minus",
    "marks_negative",
]

#: Free text longer than this is not searched for the names of known terms.
MAX_SEARCHED_LENGTH = 480
#: Known terms shorter than this are not looked for inside free text (too many chance hits).
MIN_CONTAINED_LENGTH = 5

#: A minus sign after a word or a colon ("nystagmus-", "ataxia: -") marks that one name negative
#: (normalising makes hyphens spaces, which would lose it): it is read as this word, a cue that
#: reaches only the name just before it. After a word with a digit it is a marker's notation
#: ("CD34-", "CD4+CD26- T cells"), left as it is.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"
_MINUS = re.compile(
    r"(?:(?<=[:=])\s*|(?<![\w+/])(?P<word>[\w+/]*\w))"
    rf"(?:[{_DASHES}](?=\s|$|[,;.)\]])|\s+[{_DASHES}](?=\s*(?:$|[,;.)\]])))"
)
#: "+/-", "+-" and "±" after a name: an equivocal result (not "CD4+-T-cells", a name with
#: hyphens for spaces).
_EQUIVOCAL = re.compile(r"\+/?-(?!\w)|\u00b1")
_MINUS_WORD = "minussign"

#: Words and phrases that stop a free-text finding from being read: negation ("no", "without",
#: "negative", "ruled out"), doubt ("possible", "suspected", "?"), somebody else ("family",
#: "mother"), a condition named only to be set aside ("misdiagnosed as", "treated as"), and
#: hypotheticals ("if", "risk of", "screening for").
_CUES = (
    "no",
    "not",
    "non",
    "none",
    "nor",
    "neither",
    "never",
    "without",
    "absent",
    "absence",
    "deny",
    "denies",
    "denied",
    "denying",
    "denial",
    "cannot",
    "lack",
    "lacks",
    "lacking",
    "fail",
    _MINUS_WORD,
    "false",
    "n",
    "n/a",
    "doesnt",
    "dont",
    "didnt",
    "isnt",
    "wasnt",
    "werent",
    "arent",
    "hasnt",
    "havent",
    "hadnt",
    "cant",
    "wont",
    "couldnt",
    "shouldnt",
    "resolved",
    "disappeared",
    "remission",
    "pending",
    "awaited",
    "awaiting",
    "requested",
    "should",
    "in case",
    "watch for",
    "monitor for",
    "monitoring for",
    "assess for",
    "evaluate for",
    "check for",
    "test for",
    "unable to assess",
    "fails",
    "failed",
    "w/o",
    "neg",
    "ve",
    "nil",
    "negative",
    "negative for",
    "normal",
    "unremarkable",
    "free of",
    "free from",
    "rule out",
    "ruled out",
    "rules out",
    "r/o",
    "exclude",
    "excluded",
    "excluding",
    "exclusion",
    "unlikely",
    "possible",
    "likely",
    "unclear",
    "ddx",
    "possibly",
    "probable",
    "probably",
    "maybe",
    "may",
    "might",
    "suspect",
    "suspected",
    "suspicion",
    "suspicious",
    "query",
    "questionable",
    "uncertain",
    "equivocal",
    "consider",
    "considered",
    "versus",
    "vs",
    "differential",
    "concern",
    "worried",
    "if",
    "risk",
    "screening",
    "family",
    "mother",
    "father",
    "sister",
    "brother",
    "sibling",
    "son",
    "daughter",
    "parent",
    "fhx",
    "fh",
    "fam hx",
    "mum",
    "mom",
    "dad",
    "grandma",
    "grandpa",
    "maternal",
    "paternal",
    "parents",
    "grandmother",
    "grandfather",
    "grandparent",
    "grandparents",
    "aunt",
    "uncle",
    "cousin",
    "niece",
    "nephew",
    "relative",
    "relatives",
    "twin",
    "wife",
    "husband",
    "spouse",
    "sisters",
    "brothers",
    "siblings",
    "sons",
    "daughters",
    "children",
    "misdiagnosed",
    "misdiagnosis",
    "misdiagnoses",
    "mistaken",
    "treated as",
    "diagnosed as",
    "attributed to",
    "rather than",
    "instead of",
    # Doubt, set-aside diagnoses, plans, remote past and other people (a third sweep).
    "possibility",
    "potential",
    "potentially",
    "tentative",
    "hypothesis",
    "hypothesised",
    "hypothesized",
    "plausible",
    "doubt",
    "doubted",
    "queried",
    "qry",
    "favoured",
    "favored",
    "alternatively",
    "undetermined",
    "unknown",
    "tbd",
    "lacked",
    "devoid",
    "unable to elicit",
    "ruling out",
    "excludes",
    "excl",
    "poss",
    "prob",
    "susp",
    "d/dx",
    "zero",
    "vanished",
    "abolished",
    "reversed",
    "cured",
    "remitted",
    "complete response",
    "withdrawn",
    "retracted",
    "abandoned",
    "misread",
    "to confirm",
    "await",
    "tested for",
    "testing for",
    "screened for",
    "evaluated for",
    "examined for",
    "checked for",
    "assessing for",
    "to evaluate",
    "to investigate",
    "investigating",
    "surveillance",
    "looked for",
    "review for",
    "protocol",
    "guideline",
    "leaflet",
    "support group",
    "pathognomonic",
    "as seen in",
    "can cause",
    "years ago",
    "as a child",
    "in childhood",
    "in infancy",
    "as a toddler",
    "boyfriend",
    "girlfriend",
    "fiancee",
    "flatmate",
    "roommate",
    "housemate",
    "stepbrother",
    "stepsister",
    "stepson",
    "stepdaughter",
    "grandchild",
    "grandchildren",
    "aunts",
    "uncles",
    "cousins",
    "nieces",
    "nephews",
    "offspring",
    "in laws",
    "classmate",
    "coworker",
    "employer",
    "teacher",
    "pupil",
    "client",
    "sibs",
    "familial",
    "hereditary",
    # Lab results and uncertain results.
    "nd",
    "undetectable",
    "nonreactive",
    # "seronegative" alone describes a disease without antibodies, which the patient has
    # ("seronegative polyarthritis", "seronegative myasthenia gravis").
    "seronegative for",
    "nad",
    "wnl",
    "reference range",
    "borderline",
    "indeterminate",
    "inconclusive",
    "trace",
    "insignificant",
    # Results still to come.
    "to follow",
    "outstanding",
    "tbc",
    # Doubt, disagreement and mimics.
    "presumed",
    "presumptive",
    "provisional",
    "working diagnosis",
    "doubtful",
    "improbable",
    "questioned",
    "differentials",
    "either",
    "inconsistent with",
    "against",
    "atypical for",
    "unlike",
    "mimic",
    "mimics",
    "mimicking",
    "like",
    "resembling",
    "pseudo",
    # Earlier diagnoses set aside.
    "initially",
    "thought to be",
    "revised",
    "labelled",
    "labeled",
    "wrongly",
    "erroneously",
    # Work-up, prevention, warnings and other hypotheticals.
    "work up",
    "workup",
    "investigation for",
    "investigations for",
    "investigated for",
    "referred for",
    "referral",
    "assessed for",
    "evaluation of",
    "evaluation for",
    "look for",
    "looking for",
    "asked about",
    "enquired about",
    "whether",
    "unless",
    "in the event",
    "prophylaxis",
    "prophylactic",
    "prevent",
    "prevention",
    "precautions",
    "prone",
    "susceptible",
    "predisposed",
    "side effect",
    "side effects",
    "adverse effects",
    "counselled",
    "counseled",
    "warned",
    "advised",
    "red flags",
    "safety net",
    "safety netted",
    "would",
    "could",
    "will",
    "expected",
    "anticipated",
    "prn",
    "as required",
    "gene",
    # Resolved or inactive.
    "settled",
    "subsided",
    "stopped",
    "ceased",
    "abated",
    "went away",
    "resolution",
    "recovered",
    "corrected",
    "normalised",
    "normalized",
    "healed",
    "faded",
    "cleared",
    "quiescent",
    "inactive",
    "burnt out",
    "refuted",
    "disproved",
    "unconfirmed",
    # Somebody else.
    "partner",
    "friend",
    "neighbour",
    "neighbor",
    "carer",
    "caregiver",
    "colleague",
    "child",
    "kids",
    "baby",
    "grandson",
    "granddaughter",
    "stepfather",
    "stepmother",
    "proband",
    "index case",
    "another patient",
)
#: A cue is a whole word or phrase of :data:`_CUES`, a word ending in "n't" ("doesn't"), a "?",
#: or "(-)" ("ataxia (-)"; hyphens are spaces in normalised text, so "-ve" is the cue "ve").
_CUE_PATTERN = re.compile(
    r"(?<![\w/+'\u2019])("
    # Longest first, so that "negative for" is one cue, not "negative".
    + "|".join(re.escape(c).replace(r"\ ", r"\s+") for c in sorted(_CUES, key=len, reverse=True))
    + r"|\w*n['\u2019]t"
    + r")(?![\w/])(?!['\u2019](?!s(?!\w)))"
    r"|\?|\(\s*[\u2212\u2013]?\s*\)"
    # "seizure-free for 2 years", "ataxia-free": "free" closing a phrase, not "free T4".
    r"|(?<=\w )free(?=\s*(?:$|[,;.)!?]|for\b|since\b))"
)
#: Cues that reach only forward: what comes before them in the clause is asserted ("rash without
#: itching", "ataxia first attributed to a stroke", "bone pain, treated as fibromyalgia").
#: Cues that reach only back: what follows them is not theirs ("MRI normal, gait ataxia", "ANA
#: negative, Gottron papules", "ANA-negative dermatomyositis"). "normal" and "unremarkable" reach
#: back only to the nearest comma, "and", "or", "with" or "but" ("seizures, CSF normal"; "limbic
#: encephalitis with normal MRI"), as no finding is normal; "negative" to the clause's start
#: ("fever and night sweats negative").
_BACKWARD_CUES = frozenset({"negative", "normal", "unremarkable"})
_NEAR_CUES = frozenset({"normal", "unremarkable"})
_NEAR_BOUNDARY = re.compile(r",|\b(?:and|or|with|but)\b")
_FORWARD_CUES = frozenset(
    {"without", "w/o", "free of", "free from", "rather than", "instead of", "if", "screening"}
    | {"negative for", "seronegative for"}
    | {"watch for", "monitor for", "monitoring for", "assess for", "evaluate for", "check for"}
    | {"test for", "in case"}
    | {"treated as", "diagnosed as", "attributed to", "rule out", "r/o"}
    | {"misdiagnosed", "misdiagnosis", "misdiagnoses", "mistaken"}
)
_WORD = re.compile(r"\w+(?:[:']\w+)*")
#: A short word as written, a candidate acronym ("DVT", "IgAV"): letters and digits between
#: anything but letters, digits and hyphens.
_ACRONYM = re.compile(r"(?<![\w-])[A-Za-z0-9]{2,4}(?![\w-])")
#: Words that, written just before a name, deny it: the name is a finding with a direction or a
#: result ("elevated 5-HIAA" has the synonym "5-HIAA", "schistocytes" means they are seen).
_ADJACENT_DENIALS = frozenset(
    {"low", "lower", "reduced", "decreased", "diminished", "depressed", "normal", "negative"}
    | {"absent", "nil", "undetectable"}
)
#: Acronyms with another common sense in clinical notes, read only as a term of their own: PAN
#: (a pan-scan), PERM (a hair perm), HSP (hereditary spastic paraplegia, heat-shock protein), PMR
#: (post-micturition residual, rehabilitation medicine), GGA and MRH.
_AMBIGUOUS_ACRONYMS = frozenset({"PAN", "PERM", "HSP", "PMR", "GGA", "MRH"})
#: Words after an acronym that make it a process, not the patient's finding ("DVT prophylaxis",
#: "VTE assessment", "DIC screen", "DVT clinic"), or a score or checklist entry ("DVT 0").
_ACRONYM_PROCESS_AFTER = frozenset(
    {
        "ppx",
        "proph",
        "prophylaxis",
        "prophylactic",
        "assessment",
        "score",
        "scan",
        "screen",
        "clinic",
        "bloods",
        "bundle",
        "protocol",
        "pathway",
        "risk",
        "chart",
        "form",
        "service",
        "team",
        "referral",
        "study",
        "workup",
        "work",
        "panel",
        "stockings",
        "pump",
    }
)
#: Words shortly before an acronym that make it something tested for ("Doppler for DVT").
_ACRONYM_PROCESS_BEFORE = frozenset(
    {
        "doppler",
        "ultrasound",
        "wells",
        "dimer",
        "scan",
        "investigated",
        "investigation",
        "test",
        "tested",
        "testing",
        "referred",
        "prophylaxis",
        "ppx",
    }
)


def _acronym_stands(words: list[str], position: int) -> bool:
    """Whether the acronym at ``words[position]`` names the patient's finding rather than a
    process around it ("DVT prophylaxis", "Doppler for DVT", "Wells score for DVT 0")."""
    following = words[position + 1] if position + 1 < len(words) else ""
    if following in _ACRONYM_PROCESS_AFTER or following.isdigit():
        return False
    return not _ACRONYM_PROCESS_BEFORE.intersection(words[max(0, position - 3) : position])


def _mostly_capitals(text: str) -> bool:
    """Whether ``text`` is written in capitals ("BED PAN REQUIRED"), where an acronym cannot be
    told from a word."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) > 0.7 * len(letters)


#: Words that join coordinated modifiers ("truncal and gait ataxia"), and how many modifiers
#: back from a name are read.
_COORDINATORS = frozenset({"and", "or"})
_MAX_COORDINATED = 4
#: What ends a clause: a semicolon, an exclamation mark, and a full stop or question mark that
#: ends a word ("5.4" is one number, and "?Sweet syndrome" and "? Sweet syndrome" query what
#: follows), and words that turn to something else. Brackets open
#: and close clauses of their own. Commas, colons and "and" do not end a clause, so a cue reaches
#: over a list ("no fever, weight loss or night sweats").
_TOKEN = re.compile(
    r"(?P<word>\w+(?:[:']\w+)*)"
    r"|(?P<open>[(\[{])|(?P<close>[)\]}])"
    r"|(?P<stop>(?<![?!])[;!]|(?<=[^\s.])\.(?=\s|$)|(?<=[^\s?!])\?(?=\s|$))"
)
#: Words whose full stop abbreviates them ("incl. anti-Hu", "vs. HSV", "neg. for ataxia"): it ends
#: no clause. Neither does a dot leader ("anti-Yo ..... negative") nor a stop after one letter.
_ABBREVIATIONS = frozenset(
    {"incl", "etc", "eg", "ie", "vs", "hx", "sig", "evid", "neg", "pos"}
    | {"approx", "dr", "no", "nos", "resp", "max", "min", "excl", "dx", "ddx", "ref", "cf", "al"}
)
_CLAUSE_WORDS = frozenset({"but", "however", "although", "though", "whereas", "except"})
_INFORMANTS = (
    r"(?:husband|wife|partner|spouse|mother|father|mum|mom|dad|parents?|daughter|son|sister|brother"
    r"|family|carer|caregiver|friend|colleague)"
)
_SAW = r"(?:witnessed|noticed|observed|saw|reports?|reported|describes?|described|says|said)"
#: Phrases holding a cue word that deny or doubt nothing (NegEx's pseudo-negations): "ataxia
#: due to ...", "did not improve", "non-small cell", "antibodies against ...".
_NOT_CUES = re.compile(
    r"(?<![\w/])(?:"
    + "|".join(
        re.escape(p).replace(r"\ ", r"\s+")
        for p in (
            "due to",
            "non small cell",
            "not only",
            "no change",
            "no increase",
            "did not improve",
            "not improve",
            "not improved",
            "not improving",
            "did not respond",
            "not respond",
            "not responding",
            "not controlled",
            "did not resolve",
            "not resolved",
            "not resolving",
            "cannot walk",
            "could not walk",
            "in order to",
            "high resolution",
            "antibodies against",
            "antibody against",
            "directed against",
            "unknown origin",
            "unknown cause",
            "unknown primary",
            "no better",
            "no improvement",
            "no response",
            "not responsive",
            "never improved",
            "failed to respond",
            "could barely",
            "could no longer",
            "apart from",
            "other than",
            "revised graus criteria",
            "revised criteria",
            "will start",
            "pseudo athetosis",
            "pseudo obstruction",
            "pseudoathetosis",
            "year old child",
            "month old child",
            "child with",
            "child presenting",
            "child presented",
            "month old baby",
            "baby with",
        )
    )
    # Somebody who saw the patient's finding: "her husband witnessed a seizure", "noticed by his
    # wife", "according to her mother".
    + rf"|(?:her|his|the|their)\s+{_INFORMANTS}\s+{_SAW}"
    + rf"|{_SAW}\s+by\s+(?:her|his|the|their)\s+{_INFORMANTS}"
    + rf"|(?:according\s+to|collateral\s+(?:history\s+)?from)\s+(?:her|his|the|their)\s+{_INFORMANTS}"
    + r")(?![\w/])"
)
#: Phrases that hold a known name in another sense ("respiratory depression", "glandular fever",
#: "falls asleep"): read as nothing, so the name inside them is not read.
_OTHER_SENSES = (
    "st depression",
    "respiratory depression",
    "marrow depression",
    "cns depression",
    "depression of the visual field",
    "visual field depression",
    "glandular fever",
    "rheumatic fever",
    "scarlet fever",
    "yellow fever",
    "hay fever",
    "typhoid fever",
    "fever clinic",
    "breast ptosis",
    "falls asleep",
    "unresponsive to",
    "epilepsy nurse",
    "epilepsy clinic",
    "seizure threshold",
    "pulmonary hypertension",
    "intracranial hypertension",
    "portal hypertension",
    "weight loss surgery",
    "irritable bowel",
    "drug hypersensitivity",
    "detrusor hyperactivity",
    "plethora of",
    "tired of",
    "avoid confusion",
    "myalgic encephalomyelitis",
    "acute disseminated encephalomyelitis",
    "post infectious encephalomyelitis",
    "alcoholic cerebellar degeneration",
    "alcohol related cerebellar degeneration",
    "diabetic autonomic neuropathy",
    "amyloid autonomic neuropathy",
    "hereditary sensory and autonomic neuropathy",
    "ataxia telangiectasia",
    "friedreich ataxia",
    "friedreich's ataxia",
    "spinocerebellar ataxia",
    "ataxic breathing",
    "ataxic respiration",
    "psychogenic seizures",
    "functional seizures",
    "dissociative seizures",
    "seizure diary",
    "seizure medication",
    "seizure medications",
    "anti seizure",
    "falls clinic",
    "memory clinic",
    "myasthenia clinic",
    "myositis panel",
    "blood pressure falls",
    "sodium falls",
    "weight loss clinic",
    "weight loss medication",
    "intentional weight loss",
    "depression of the st segment",
    "depression of the skull",
    "hypnic myoclonus",
    "physiological myoclonus",
    "end point nystagmus",
    "optokinetic nystagmus",
    "positional nystagmus",
    "ataxia rating scale",
    "scale for the assessment and rating of ataxia",
    "myasthenia gravis composite score",
    "anxiety and depression scale",
    "depression scale",
)


def blocking_cue(text: str) -> str | None:
    """The first word or phrase in ``text`` that stops a name in it from being read, wherever it
    is, or ``None``.

    >>> blocking_cue("no ataxia")
    'no'
    >>> blocking_cue("non-smoker") is not None, blocking_cue("progressive gait ataxia")
    (True, None)
    """
    match = next(_cue_matches(_key_of(text)), None)
    if match is None:
        return None
    return "-" if match.group(0) == _MINUS_WORD else match.group(0)


class Named(NamedTuple):
    """A known term's key found in free text, and the cue that stops it from being read there
    (``None`` when the text asserts it)."""

    key: str
    cue: str | None


class TextReader:
    """Finds the known terms a free-text finding names, as whole words.

    Made from a rule base's normalised term keys; its index (first word -> keys) is built on the
    first read, so loading a rule base does not pay for it. :meth:`read` then costs a dictionary
    lookup per word of the text, not a scan of the vocabulary.
    """

    def __init__(self, keys: Iterable[str], acronyms: Iterable[str] = ()) -> None:
        """``keys`` are normalised names; ``acronyms`` are short names as written ("DVT", "OMS"),
        read inside text, though shorter than :data:`MIN_CONTAINED_LENGTH`, where the text
        writes them with the same capitals."""
        keys = tuple(keys)
        known = set(keys)
        self._acronyms = frozenset(a for a in acronyms if normalize_term(a) in known)
        self._keys = keys + tuple(k for k in _OTHER_SENSES if k not in known)
        self._other_senses = frozenset(k for k in _OTHER_SENSES if k not in known)
        self._known = frozenset(known)
        self._index: dict[str, tuple[tuple[tuple[str, ...], str], ...]] | None = None

    def __getstate__(self) -> dict[str, object]:
        """Pickled without its index, which the copy builds again on its first read."""
        return {
            "_keys": self._keys,
            "_other_senses": self._other_senses,
            "_known": self._known,
            "_acronyms": self._acronyms,
            "_index": None,
        }

    def _by_first_word(self) -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
        # Two threads may both build it the first time: the same index, and no lock to be held
        # across a fork.
        index = self._index
        if index is None:
            index = self._index = _index(self._keys)
        return index

    def read(self, text: str) -> tuple[Named, ...]:
        """The keys ``text`` names, in the order they appear, none inside another one's words,
        each with the cue that stops it from being read there (``None`` where it is asserted).

        Where two names overlap, the one that starts first is read, and of those starting at the
        same word, the longest ("gait ataxia", not "ataxia", from "progressive gait ataxia"). A
        cue stops the names in its clause (see the module's description); a cue word inside a
        name ("non" in "non-islet cell tumour hypoglycaemia") does not stop that name. A key
        asserted anywhere in the text is asserted. Text longer than
        :data:`MAX_SEARCHED_LENGTH` is not read.
        """
        key = _key_of(text)
        if len(key) > MAX_SEARCHED_LENGTH:
            return ()
        clauses = _Clauses(key)
        words = clauses.words
        spans: list[tuple[str, int, int]] = []
        acronyms = self._acronyms_in(text)
        position = 0
        while position < len(words):
            # A name is not read across a full stop ("gait. Ataxia").
            match = next(
                (
                    entry_words
                    for entry_words in self._matches(key, words, position)
                    if clauses.pieces[position]
                    == clauses.pieces[position + len(entry_words[0]) - 1]
                ),
                None,
            )
            if match is None and words[position] in acronyms and _acronym_stands(words, position):
                match = ((words[position],), words[position])
            if match is None:
                position += 1
                continue
            end = position + len(match[0])
            if match[1] not in self._other_senses:
                spans.append((match[1], position, end))
                spans.extend(self._coordinated(key, clauses, match[1], position, end, spans))
            position = end
        # A cue in brackets that name nothing speaks of what the brackets follow ("anti-Yo
        # (negative)", "dermatomyositis (not confirmed on biopsy)"), and so does one after "but"
        # or "however" that names nothing ("Gottron papules were sought but absent");
        # "ataxia (no nystagmus)" keeps its own.
        named = {clauses.paths[i][-1] for _, start, end in spans for i in range(start, end)}
        cues = []
        for cue_match in _cue_matches(key):
            clause = clauses.clause_at(cue_match.start())
            while clause not in named and clause in clauses.qualified:
                clause = clauses.qualified[clause]
            cues.append((cue_match.start(), cue_match.end(), cue_match.group(0), clause))
        found: dict[str, str | None] = {}
        for entry, start, end in spans:
            first, last = clauses.starts[start], clauses.ends[end - 1]
            reached = {clause for path in clauses.paths[start:end] for clause in path}
            cue = next(
                (
                    "-" if word == _MINUS_WORD else word
                    for cue_start, cue_end, word, clause in cues
                    if clause in reached
                    and not (first <= cue_start and cue_end <= last)
                    and (cue_start < first or word not in _FORWARD_CUES)
                    and (word != _MINUS_WORD or _just_after(key, last, cue_start))
                    # "non" is a prefix: it denies the name it is written on ("non-smoker").
                    and (word != "non" or _just_after(key, cue_end, first))
                    and (word not in _BACKWARD_CUES or cue_start >= last)
                    and (word not in _NEAR_CUES or not _NEAR_BOUNDARY.search(key, last, cue_start))
                ),
                None,
            )
            if (
                cue is None
                and start > 0
                and words[start - 1] in _ADJACENT_DENIALS
                and not key[clauses.ends[start - 1] : clauses.starts[start]].strip()
            ):
                # "low 5-HIAA", "normal schistocytes": the opposite of, or no, the finding.
                cue = words[start - 1]
            if found.get(entry, "") is not None:
                found[entry] = cue
        return tuple(Named(entry, cue) for entry, cue in found.items())

    def _acronyms_in(self, text: str) -> frozenset[str]:
        """The normalised acronyms ``text`` writes as the vocabulary does ("DVT", not "dvt")."""
        if not self._acronyms or _mostly_capitals(text):
            return frozenset()
        return frozenset(
            normalize_term(word)
            for word in _ACRONYM.findall(text)
            if word in self._acronyms and word not in _AMBIGUOUS_ACRONYMS
        )

    def _coordinated(
        self,
        key: str,
        clauses: _Clauses,
        entry: str,
        start: int,
        end: int,
        spans: list[tuple[str, int, int]],
    ) -> list[tuple[str, int, int]]:
        """The names that words coordinated before a name of two or more words form with its
        last words: "truncal and gait ataxia" names truncal ataxia too, and "proximal, distal or
        limb weakness" proximal and distal weakness where the vocabulary has them. Each spans
        from its first word to the end of ``entry``, so a cue before the list reaches it."""
        words = clauses.words
        head = words[start + 1 : end]
        if not head:
            return []
        taken = {i for _, first, last in spans for i in range(first, last)}
        found: list[tuple[str, int, int]] = []
        position = start
        for _ in range(_MAX_COORDINATED):
            if position >= 2 and words[position - 1] in _COORDINATORS:
                modifier = position - 2
            elif (
                position >= 1
                and key[clauses.ends[position - 1] : clauses.starts[position]].strip() == ","
            ):
                modifier = position - 1
            else:
                break
            if modifier in taken or clauses.pieces[modifier] != clauses.pieces[start]:
                break
            name = " ".join((words[modifier], *head))
            if name not in self._known or len(name) < MIN_CONTAINED_LENGTH or name == entry:
                break
            found.append((name, modifier, end))
            position = modifier
        return found

    def contained(self, text: str) -> tuple[str, ...]:
        """Every key whose whole words appear in ``text``, overlapping ones too ("gait ataxia"
        and "ataxia" from "progressive gait ataxia"), in the order they start, longest first.
        Text longer than :data:`MAX_SEARCHED_LENGTH` is not searched."""
        key, words = self._words(text)
        found = [entry for n in range(len(words)) for _, entry in self._matches(key, words, n)]
        return tuple(k for k in dict.fromkeys(found) if k not in self._other_senses)

    @staticmethod
    def _words(text: str) -> tuple[str, list[str]]:
        """``text`` normalised, and its words (none when it is too long to search)."""
        key = normalize_term(text)
        return key, [] if len(key) > MAX_SEARCHED_LENGTH else _words_of(key)

    def _matches(
        self, key: str, words: list[str], position: int
    ) -> Iterator[tuple[tuple[str, ...], str]]:
        """The keys whose words start at ``words[position]``, longest first, with their words;
        never ``key`` itself (the whole text: a known term is looked up, not searched for)."""
        for entry_words, entry in self._by_first_word().get(words[position], ()):
            end = position + len(entry_words)
            if (entry != key or entry in self._other_senses) and tuple(
                words[position:end]
            ) == entry_words:
                yield entry_words, entry


class _Clauses:
    """Normalised text cut into words, each with the clauses it lies in (outermost first: the
    words in brackets lie in the bracket's clause and in the clause around it)."""

    def __init__(self, key: str) -> None:
        self.words: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.paths: list[tuple[int, ...]] = []
        #: Words in the same piece between stops and turning words (brackets do not cut it).
        self.pieces: list[int] = []
        #: Each bracket's clause, and each clause a turning word starts -> the clause it
        #: qualifies when it names nothing itself.
        self.qualified: dict[int, int] = {}
        self._offsets: list[int] = [0]
        self._clauses: list[int] = [0]
        stack = [0]
        count = 1
        piece = 0
        sizes: dict[int, int] = {}  # clause -> how many words it has so far
        before_stop = 0  # the clause the last full stop or semicolon ended
        for token in _TOKEN.finditer(key):
            kind, text = token.lastgroup, token.group()
            if kind == "open":
                self.qualified[count] = stack[-1]
                stack.append(count)
                count += 1
            elif kind == "close" and len(stack) > 1:
                stack.pop()
            elif (kind == "stop" and not _abbreviated(key, token.start(), self.words)) or (
                kind == "word" and text in _CLAUSE_WORDS
            ):
                if kind == "word":  # "but", "however": qualifies the clause before it
                    self.qualified[count] = stack[-1] if stack[-1] in sizes else before_stop
                else:
                    before_stop = stack[-1]
                stack[-1] = count
                count += 1
                piece += 1
            if kind == "word":
                sizes[stack[-1]] = sizes.get(stack[-1], 0) + 1
                self.words.append(text)
                self.starts.append(token.start())
                self.ends.append(token.end())
                self.paths.append(tuple(stack))
                self.pieces.append(piece)
            # A stop or a closing bracket belongs to the clause it ends; a turning word to the
            # clause it starts.
            boundary = token.start() if kind == "word" else token.end()
            if stack[-1] != self._clauses[-1]:
                self._offsets.append(boundary)
                self._clauses.append(stack[-1])

    def clause_at(self, offset: int) -> int:
        """The innermost clause the character at ``offset`` lies in."""
        return self._clauses[bisect.bisect_right(self._offsets, offset) - 1]


def _cue_matches(key: str) -> Iterator[re.Match[str]]:
    """The cues in normalised text, leaving out those inside a phrase that is no cue ("due to")."""
    spans = [m.span() for m in _NOT_CUES.finditer(key)]
    for match in _CUE_PATTERN.finditer(key):
        if not any(start <= match.start() and match.end() <= end for start, end in spans):
            yield match


def _abbreviated(key: str, stop: int, words: list[str]) -> bool:
    """Whether the full stop at ``key[stop]`` ends an abbreviation ("incl.", "e.g."), not a
    clause: the word before it is one letter or one of :data:`_ABBREVIATIONS`."""
    return key[stop] == "." and bool(words) and (len(words[-1]) == 1 or words[-1] in _ABBREVIATIONS)


def _just_after(key: str, end: int, start: int) -> bool:
    """Whether ``start`` follows ``end`` in ``key`` with only spaces, colons or "=" between."""
    return start >= end and not key[end:start].strip(" :=")


def marks_negative(text: str) -> bool:
    """Whether ``text`` holds a minus sign marking a negative result ("nystagmus-", "Yo: -").

    >>> marks_negative("nystagmus-"), marks_negative("anti-Yo"), marks_negative("CD34-")
    (True, False, False)
    """
    text = _compatible(text)
    if _has_equivocal(text):
        return True
    return _has_dash(text) and any(_is_mark(match) for match in _MINUS.finditer(text))


def _compatible(text: str) -> str:
    """``text`` with compatibility characters in their usual form (NFKC: the small and vertical
    dashes of U+FE58, U+FE63, U+FE31 become dashes), so that a minus in any form is seen."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def ends_with_minus(term: str) -> bool:
    """Whether a term given on its own ends with a minus sign or dash: "anti-CASPR2-" and
    "GAD65 -" are results, even though a minus after a word with a digit marks nothing inside
    text ("CD34-"). No vocabulary name ends with one.

    >>> ends_with_minus("anti-CASPR2 -"), ends_with_minus("anti-CASPR2")
    (True, False)
    """
    last = _compatible(term).rstrip()[-1:]
    return bool(last) and last in _DASHES


#: "May" with a capital inside a sentence is the month ("onset in May 2021"), not the cue "may".
_MONTH_MAY = re.compile(r"(?<=[^.!?\s]\s)May\b")


def _key_of(text: str) -> str:
    """``text`` normalised for reading, with each minus sign that marks a name negative written
    as :data:`_MINUS_WORD`, and the month May as "maymonth"."""
    text = _compatible(text)
    if _has_equivocal(text):
        text = _EQUIVOCAL.sub(" equivocal ", text)
    if _has_dash(text):
        text = _MINUS.sub(_marked, text)
    if "May" in text:
        text = _MONTH_MAY.sub("maymonth", text)
    return normalize_term(text)


def _is_mark(match: re.Match[str]) -> bool:
    """Whether a :data:`_MINUS` match marks a name negative: after a colon, or after a word with
    no digit (not a marker's notation such as "CD34-")."""
    word = match.group("word")
    return word is None or not any(c.isdigit() for c in word)


def _marked(match: re.Match[str]) -> str:
    if not _is_mark(match):
        return match.group(0)
    return f"{match.group('word') or ''} {_MINUS_WORD}"


def _has_equivocal(text: str) -> bool:
    """Whether ``text`` holds an equivocal sign ("+/-", "±"); a plain ``in`` test first, as every
    term given is asked."""
    return ("+" in text or "\u00b1" in text) and _EQUIVOCAL.search(text) is not None


def _has_dash(text: str) -> bool:
    return any(dash in text for dash in _DASHES)


def _words_of(key: str) -> list[str]:
    """The words of normalised text, as free text is matched against known terms (an HPO id such
    as "hp:0001251" and "gottron's" are one word each)."""
    return _WORD.findall(key)


def contained_terms(
    term: str, candidates: Mapping[str, str], limit: int = 3, reader: TextReader | None = None
) -> tuple[str, ...]:
    """Up to ``limit`` known terms whose whole words appear in ``term``, longest first, as they are
    written in the vocabulary: the suggestions for free text that is not read.

    ``candidates`` maps normalised keys to the text to show; ``reader`` is a reader of (at least)
    those keys, such as the rule base's own, so that none has to be built.
    """
    found = (reader or TextReader(candidates)).contained(term)
    ordered = sorted((key for key in found if key in candidates), key=lambda k: (-len(k), k))
    return tuple(dict.fromkeys(candidates[key] for key in ordered))[:limit]


_COMPARATORS = re.compile(r"[<>=\u2264\u2265]")


def _index(keys: Iterable[str]) -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    """First word -> (words, key) of every key at least :data:`MIN_CONTAINED_LENGTH` long,
    longest first. A key with a comparator ("platelets > 400") is left out: words drop the
    comparator, so it would match "platelets < 400" (the lab values of such text are read
    against their thresholds instead, :mod:`pns_rules.lab_values`)."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for key in keys:
        if len(key) < MIN_CONTAINED_LENGTH or _COMPARATORS.search(key):
            continue
        words = tuple(_words_of(key))
        if words:
            index.setdefault(words[0], []).append((words, key))
    return {
        first: tuple(sorted(entries, key=lambda e: (-len(e[0]), -len(e[1]), e[1])))
        for first, entries in index.items()
    }
