"""Bigger training sets from a real tickets file, deterministically: more teams and more tickets.

- **Teams**: each project is split into component-like sub-teams by clustering its tickets' text
  (TF-IDF, SVD, bisecting k-means, fixed seeds), as many per project as its share of the tickets.
  A sub-team is a topic within a project, as a component is: learnable, and confusable with its
  siblings.
- **Tickets**: every ticket is copied as often as needed (copy 0 is the ticket itself). In a copy,
  each word of the ticket that is rare in the whole file (in at most `rare_df` tickets: identifiers,
  class names, numbers, typos) becomes, with probability 1 - 1/`variants`, one of `variants` - 1
  spellings of itself (a letter or digit changed, case kept), chosen by hashing the word with the
  copy's key. So common words recur, rare words keep appearing in new forms, and some new forms
  recur often enough to enter the vocabulary, as new class names and config keys do in real Jira.
  `check_growth` measures the result against real subsamples; bench/README.md says how.
- **Time**: copy k of a ticket is created k minutes after it, so the time split keeps its shape
  and a copy lands on its ticket's side of it unless the ticket is within minutes of the cut.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from export.tickets import Ticket

WORD = re.compile(r"[A-Za-z0-9]{3,}")
"""What a copy may respell: runs of three or more letters and digits (shorter ones are too common)."""
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%S.000%z"


@dataclass(frozen=True)
class Perturbation:
    """How copies respell rare words; calibrated by `check_growth` against real subsamples."""

    rare_df: int = 5
    """A word (pair) in at most this many of the base tickets is rare."""
    variants: int = 24
    """Spellings per rare word and copy to choose from, the word itself among them."""
    drop: float = 0.6
    """The chance that a copy leaves out the first word of a rare pair of common words, so such
    pairs do not recur in every copy (the copy is ~10 % shorter than its ticket)."""


DEFAULT_PERTURBATION = Perturbation()


@dataclass(frozen=True)
class Scale:
    tickets: int
    teams: int

    @classmethod
    def parse(cls, text: str) -> Scale:
        """'300000x100' or '300kx100'."""
        count, _, teams = text.lower().partition("x")
        multiplier = 1000 if count.endswith("k") else 1
        return cls(int(count.rstrip("k")) * multiplier, int(teams))

    def __str__(self) -> str:
        return (
            f"{self.tickets // 1000}k x {self.teams}"
            if self.tickets % 1000 == 0
            else f"{self.tickets}x{self.teams}"
        )


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def team_split(tickets: Sequence[Ticket], teams: int, seed: int = 0) -> list[str]:
    """Each ticket's team when its projects are split into `teams` component-like sub-teams."""
    projects = Counter(t.team for t in tickets)
    if teams < len(projects):
        raise ValueError(f"{teams} teams from {len(projects)} projects: can only split, not merge")
    shares = _allocate(projects, teams)
    labels = [t.team for t in tickets]
    for project, parts in sorted(shares.items()):
        if parts == 1:
            continue
        members = [i for i, t in enumerate(tickets) if t.team == project]
        clusters = _clusters([tickets[i] for i in members], parts, seed)
        for i, cluster in zip(members, clusters, strict=True):
            labels[i] = f"{project}-{cluster + 1:02d}"
    return labels


def _allocate(projects: Counter[str], teams: int) -> dict[str, int]:
    """Sub-teams per project in proportion to its tickets (largest remainder), at least one each."""
    total = sum(projects.values())
    exact = {p: n * teams / total for p, n in projects.items()}
    shares = {p: max(1, math.floor(x)) for p, x in exact.items()}
    by_remainder = sorted(projects, key=lambda p: (-(exact[p] - math.floor(exact[p])), p))
    while sum(shares.values()) < teams:
        for project in by_remainder:
            if sum(shares.values()) == teams:
                break
            shares[project] += 1
    while sum(shares.values()) > teams:
        largest = max(shares, key=lambda p: (shares[p], p))
        shares[largest] -= 1
    return shares


def _clusters(tickets: Sequence[Ticket], parts: int, seed: int) -> list[int]:
    """Topic clusters of one project's tickets, numbered largest first."""
    from sklearn.cluster import BisectingKMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    texts = [f"{t.summary} {t.summary} {t.description[:2000]}" for t in tickets]
    vectors = TfidfVectorizer(
        min_df=2, max_df=0.5, stop_words="english", sublinear_tf=True, max_features=20_000
    ).fit_transform(texts)
    dims = max(2, min(50, vectors.shape[1] - 1, len(tickets) - 1))
    reduced = normalize(TruncatedSVD(dims, random_state=seed).fit_transform(vectors))
    model = BisectingKMeans(
        n_clusters=parts, random_state=seed, bisecting_strategy="largest_cluster", n_init=3
    )
    found = model.fit_predict(reduced)
    order = {c: rank for rank, (c, _) in enumerate(Counter(found.tolist()).most_common())}
    return [order[c] for c in found.tolist()]


def respell(word: str, variant: int) -> str:
    """Spelling `variant` (>= 1) of `word`: one letter or digit after the first replaced by another of
    its kind, case kept; deterministic."""
    h = _digest(f"{word.lower()}#{variant}")
    position = 1 + h % (len(word) - 1)
    char = word[position]
    if char.isdigit():
        alphabet = "0123456789"
    elif char.isupper():
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    else:
        alphabet = "abcdefghijklmnopqrstuvwxyz"
    new = alphabet[(alphabet.index(char) + 1 + (h >> 8) % (len(alphabet) - 1)) % len(alphabet)]
    return word[:position] + new + word[position + 1 :]


def _perturb(text: str, key: str, rare: Rarity, perturbation: Perturbation) -> str:
    """`text` as copy `key` writes it: rare words respelt, rare pairs of common words broken."""
    pieces = WORD.split(text)
    words = WORD.findall(text)
    lower = [w.lower() for w in words]
    variants, drop = perturbation.variants, int(perturbation.drop * 2**16)
    out = [pieces[0]]
    for i, word in enumerate(words):
        if rare.word(lower[i]):
            choice = _digest(f"{lower[i]}|{key}") % variants
            if choice:
                word = respell(word, choice)
        elif (
            drop
            and i + 1 < len(words)
            and not rare.word(lower[i + 1])
            and rare.pair(lower[i], lower[i + 1])
            and _digest(f"{key}@{i}") % 2**16 < drop
        ):
            word = ""
        out += [word, pieces[i + 1]]
    return "".join(out)


class Rarity:
    """Which words and word pairs are rare in the base tickets (in at most `rare_df` of them)."""

    def __init__(self, tickets: Sequence[Ticket], rare_df: int) -> None:
        words: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        for t in tickets:
            seen: set[str] = set()
            seen_pairs: set[tuple[str, str]] = set()
            for text in (t.summary, t.description):
                lower = [w.lower() for w in WORD.findall(text)]
                seen.update(lower)
                seen_pairs.update(itertools.pairwise(lower))
            words.update(seen)
            pairs.update(seen_pairs)
        self._common = {w for w, n in words.items() if n > rare_df}
        self._rare_pairs = {p for p, n in pairs.items() if n <= rare_df}

    def word(self, lower: str) -> bool:
        return lower not in self._common

    def pair(self, left: str, right: str) -> bool:
        return (left, right) in self._rare_pairs


def _copy(ticket: Ticket, copy: int, team: str, rare: Rarity, perturbation: Perturbation) -> Ticket:
    if copy == 0:
        return replace(ticket, team=team)
    key = f"{ticket.key}#{copy}"
    project, _, number = ticket.key.rpartition("-")
    new_key = f"{project}-{number}c{copy}" if project else key
    created = ticket.created
    if created:
        when = datetime.strptime(created, CREATED_FORMAT) + timedelta(minutes=copy)
        created = when.strftime(CREATED_FORMAT)
    return Ticket(
        key=new_key,
        summary=_perturb(ticket.summary, key, rare, perturbation),
        description=_perturb(ticket.description, key + "d", rare, perturbation),
        team=team,
        created=created,
    )


def copies(base: Sequence[Ticket], total: int) -> list[tuple[int, int]]:
    """(ticket index, copy number) pairs: every ticket `total // len(base)` times, then copy
    number `total // len(base)` of the tickets whose keys hash lowest, in file order."""
    whole, extra = divmod(total, len(base))
    chosen = sorted(range(len(base)), key=lambda i: _digest(f"{base[i].key}#{whole}"))[:extra]
    pairs = [(i, k) for k in range(whole) for i in range(len(base))]
    pairs += [(i, whole) for i in sorted(chosen)]
    return pairs


def build(
    base: Sequence[Ticket],
    scale: Scale,
    perturbation: Perturbation = DEFAULT_PERTURBATION,
    teams: Sequence[str] | None = None,
) -> list[Ticket]:
    """`scale.tickets` tickets in `scale.teams` teams from `base`, ordered by created time.
    `teams`: the base tickets' teams when already split (team_split is the slow part)."""
    labels = list(teams) if teams is not None else team_split(base, scale.teams)
    rare = Rarity(base, perturbation.rare_df)
    built = [_copy(base[i], k, labels[i], rare, perturbation) for i, k in copies(base, scale.tickets)]
    built.sort(key=lambda t: (t.created, t.key))
    return built


def subsample(tickets: Sequence[Ticket], count: int) -> list[Ticket]:
    """The `count` tickets whose keys hash lowest, in file order: nested for growing counts."""
    chosen = sorted(range(len(tickets)), key=lambda i: _digest(tickets[i].key))[:count]
    return [tickets[i] for i in sorted(chosen)]


def vocabulary_size(tickets: Sequence[Ticket], min_df: int = 3) -> dict[str, int]:
    """The model's vocabulary for these tickets (export.pipeline.choose_vocabulary: terms in at least
    `min_df` of the tickets' own rows), and every distinct term."""
    from sklearn.feature_extraction.text import CountVectorizer

    from chalicelib.text import normalize, ticket_text

    rows = [ticket_text(t.summary, t.description) for t in tickets]
    rows += [s for s in (normalize(t.summary) for t in tickets) if s]
    counter = CountVectorizer(lowercase=False, token_pattern=r"\S+", ngram_range=(1, 2), binary=True)
    matrix = counter.fit_transform(rows)
    frequency = np.asarray(matrix.sum(axis=0)).ravel()
    return {"vocabulary": int((frequency >= min_df).sum()), "terms": len(frequency)}


def check_growth(base: Sequence[Ticket], perturbation: Perturbation = DEFAULT_PERTURBATION) -> list[dict]:
    """Real against built vocabularies: for each real subsample of 1/4 and 1/2 of `base`, the
    vocabulary of `base` itself (the real growth) and of `len(base)` tickets built from the
    subsample (the growth the copies make). Close ratios mean the copies grow the vocabulary as
    real new tickets do."""
    real = vocabulary_size(base)
    rows = []
    for share in (4, 2):
        sample = subsample(base, len(base) // share)
        built = build(
            sample, Scale(len(base), len({t.team for t in base})), perturbation, [t.team for t in sample]
        )
        found = vocabulary_size(sample)
        grown = vocabulary_size(built)
        rows.append(
            {
                "from_tickets": len(sample),
                "to_tickets": len(base),
                "vocabulary_from": found["vocabulary"],
                "vocabulary_real": real["vocabulary"],
                "vocabulary_built": grown["vocabulary"],
                "built_over_real": round(grown["vocabulary"] / real["vocabulary"], 3),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time
    from pathlib import Path

    from export.tickets import read_tickets, write_tickets

    parser = argparse.ArgumentParser(prog="python -m bench.scale_data", description=__doc__.split("\n")[0])
    parser.add_argument("scale", type=Scale.parse, nargs="?", help="TICKETSxTEAMS, e.g. 300kx100")
    parser.add_argument(
        "--check", action="store_true", help="compare the copies' vocabulary growth with real"
    )
    parser.add_argument(
        "--csv", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/jira-public-1.csv"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.check:
        for row in check_growth(read_tickets(args.csv)):
            print(row, flush=True)
        return 0
    if args.scale is None or args.out is None:
        parser.error("give a scale and --out, or --check")
    built = build(read_tickets(args.csv), args.scale)
    write_tickets(args.out, built)
    teams = len({t.team for t in built})
    print(f"{len(built)} tickets, {teams} teams -> {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
