"""Verifying a message log: is every record the gateway wrote still there, unchanged, in place?

The walk reads the records once, in sequence order, and recomputes each hash.  An intact
chain costs one pass and two SHA-256 per record.  Only when something does not fit are the
records around it kept (a bounded number), and the classification below explains them:

* **changed** (改ざん): a record the gateway wrote no longer has its content.  Either its
  content no longer matches its hash, or its hash was recomputed and the next record (or the
  head, or a signed checkpoint) still refers to the original.
* **deleted** (削除): a sequence number the gateway wrote has no record: a gap, or records
  missing up to the head or the last signed checkpoint.
* **inserted** (挿入): a record the gateway did not write: beyond the last record the
  gateway wrote, taking no missing record's place, or a copy of another record.
* **reordered** (順序の入れ替え): a record written as number *t* is stored as another
  number.  A record's hash covers its number, so the number it was written with is found
  by trying the numbers its neighbours suggest.  Records merely renumbered after a deletion
  or an insertion are mentioned with it, not reported one by one.
* **checkpoint** (不正なチェックポイント): a checkpoint whose signature does not verify,
  whose certificate is not under the trusted root, or whose content is not what it says.

A changed record is reported once: its successor's link is checked against the hash stored
in the changed record, which is not what was changed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from cryptography import x509
from sqlalchemy import Connection, Engine, select

from kiban.mesh.gateway.log_checkpoints import Checkpoint, CheckpointInvalid, verify_checkpoint
from kiban.mesh.gateway.log_records import (
    ANCHORS,
    CHECKPOINTS,
    GENESIS,
    HEAD,
    RECORDS,
    STORED_COLUMNS,
    content_digest,
    record_hash,
)

# At most this many irregular records (and their neighbours) are kept for classification:
# memory stays bounded whatever was done to the log.
MAX_IRREGULAR = 10_000

Progress = Callable[[int, int], None]  # (records read, records expected)


class FindingKind(StrEnum):
    CHANGED = "changed"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    CHECKPOINT = "checkpoint"


LABELS = {
    FindingKind.CHANGED: "改ざん",
    FindingKind.DELETED: "削除",
    FindingKind.INSERTED: "挿入",
    FindingKind.REORDERED: "順序の入れ替え",
    FindingKind.CHECKPOINT: "不正なチェックポイント",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """What is wrong, at which sequence numbers (``first`` to ``last``)."""

    kind: FindingKind
    first: int
    last: int
    detail: str

    def __str__(self) -> str:
        if self.kind is FindingKind.CHECKPOINT:
            where = f"checkpoint {self.first}"
        elif self.first == self.last:
            where = f"record {self.first}"
        else:
            where = f"records {self.first}–{self.last}"
        return f"{where}: {self.kind.value} / {LABELS[self.kind]}: {self.detail}"


@dataclass(frozen=True, slots=True)
class LogReport:
    records: int  # records read
    start: int  # the chain starts after this number (0, or the last archived record)
    last: int  # the last record's number (``start`` when there is none)
    checkpoints: int  # valid checkpoints
    sealed: int  # the last number a valid checkpoint covers (``start`` when none)
    signers: tuple[str, ...]  # who signed the valid checkpoints
    rooted: bool  # whether their certificates were checked against a trusted root
    findings: tuple[Finding, ...]

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def unsealed(self) -> int:
        """Records after the last valid checkpoint: hash-chained, but not yet signed."""
        return max(self.last - self.sealed, 0)

    def summary(self) -> str:
        if not self.intact:
            return f"{self.records} records, {len(self.findings)} findings / 問題が見つかりました"
        unchecked = "" if self.rooted else " (certificates not checked: no root CA given)"
        sealed = (
            f"signed up to {self.sealed} by {', '.join(self.signers)}{unchecked}"
            if self.checkpoints
            else "no checkpoint yet"
        )
        archived = f"; records up to {self.start} archived" if self.start else ""
        return (
            f"{self.records} records, chain intact / 改ざんなし"
            f" ({sealed}; {self.unsealed} after the last checkpoint{archived})"
        )


@dataclass(frozen=True, slots=True)
class ChainSource:
    """Where the records come from: the gateway's database, or an archive file."""

    start: int  # the chain starts after this record ...
    start_hash: bytes  # ... whose hash this is (GENESIS at the very start)
    start_checkpoint: str | None  # the checkpoint signing ``start`` (None when start is 0)
    head: tuple[int, bytes] | None  # the last record the writer says it wrote, when it says
    checkpoints: Sequence[tuple[int, str]]  # (number as stored, token)
    expected: int  # how many records to expect, for progress
    # Batches of rows in STORED_COLUMNS order, in sequence order; called again when needed.
    rows: Callable[[], Iterator[Sequence[Sequence[Any]]]]
    # (seq, hash) of every row, for the rare second look-up pass.
    hashes: Callable[[], Iterator[tuple[int, bytes]]]


@dataclass(slots=True, eq=False)
class _Row:
    """A record kept for classification: an irregular one or a neighbour of one."""

    p: int  # the number it is stored as (its position)
    prev: bytes
    hash: bytes
    digest: bytes
    ok: bool  # its hash matches its content at its own number
    linked: bool  # its previous hash is the hash of the record stored before it
    contiguous: bool  # its number follows the number stored before it
    t: int | None = None  # the number it was written with, when found
    next_linked: bool | None = None  # whether the next record links to it (None: no next)
    # Kept for the irregular record after it, so records in place may come before it; any
    # other kept record comes right after the one kept before it.
    after_stretch: bool = False
    verdict: FindingKind | None = None

    @property
    def displaced(self) -> bool:
        return self.t is not None and self.t != self.p


_FAR = 1 << 62  # beyond any sequence number


@dataclass(slots=True)
class _Walk:
    """The single streaming pass: checks every record, keeps only what does not fit."""

    start: int
    start_hash: bytes
    limit: int  # records stored beyond this number were not written by the gateway
    targets: list[tuple[int, bytes, str]]  # (seq, hash, who says so), by seq, consumed
    rows: int = 0
    first_p: int | None = None
    last_p: int | None = None
    kept: list[_Row] = field(default_factory=list)
    overflow_at: int | None = None
    mismatches: list[tuple[int, bytes, str]] = field(default_factory=list)  # as targets

    def run(
        self, batches: Iterable[Sequence[Sequence[Any]]], progress: Callable[[int], None]
    ) -> None:
        last_p, last_hash, last_prev = self.start, self.start_hash, self.start_hash
        last_digest: bytes | None = None  # None until a record was read
        keep_next = False
        limit = self.limit
        target = self.targets[0][0] if self.targets else _FAR
        for batch in batches:
            for row in batch:
                p, prev, stored = row[0], row[1], row[2]
                digest = content_digest(row[3:])
                ok = record_hash(prev, p, digest) == stored
                if ok and prev == last_hash and p == last_p + 1 and p <= limit and not keep_next:
                    pass  # the common case: in place and linked
                else:
                    keep_next = self._keep_irregular(
                        _Row(p, prev, stored, digest, ok, prev == last_hash, p == last_p + 1),
                        _Row(last_p, last_prev, last_hash, last_digest, True, True, True)
                        if last_digest is not None
                        else None,
                    )
                if p >= target:
                    target = self._match(p, stored)
                last_p, last_hash, last_prev, last_digest = p, stored, prev, digest
            self.rows += len(batch)
            progress(self.rows)
        if self.rows:
            self.last_p = last_p
            if self.first_p is None:
                self.first_p = self.start + 1  # the first record was in place

    def _keep_irregular(self, row: _Row, previous: _Row | None) -> bool:
        """Keep ``row`` and the record before it; True when the record after it must be kept."""
        irregular = not (row.ok and row.linked and row.contiguous and row.p <= self.limit)
        if previous is None:
            self.first_p = row.p
        elif self.kept and self.kept[-1].p == previous.p:
            self.kept[-1].next_linked = row.linked
        elif irregular:
            previous.next_linked = row.linked
            previous.after_stretch = True
            self._keep(previous)
        self._keep(row)
        return irregular

    def _keep(self, row: _Row) -> None:
        if self.overflow_at is not None:
            return
        if len(self.kept) >= MAX_IRREGULAR:
            self.overflow_at = row.p
            return
        self.kept.append(row)

    def _match(self, p: int, stored: bytes) -> int:
        """Compare the record stored as ``p`` with what checkpoints and the head say of it."""
        while self.targets and self.targets[0][0] <= p:
            seq, expected, who = self.targets.pop(0)
            if seq == p and stored != expected:
                self.mismatches.append((seq, expected, who))
        return self.targets[0][0] if self.targets else _FAR


class _Missing:
    """The numbers the gateway wrote that no record holds, as sorted closed intervals."""

    def __init__(self, present: list[tuple[int, int]], start: int, end: int) -> None:
        self.intervals: list[list[int]] = []
        cursor = start + 1
        for first, last in sorted(present):
            if first > cursor and cursor <= end:
                self.intervals.append([cursor, min(first - 1, end)])
            cursor = max(cursor, last + 1)
        if cursor <= end:
            self.intervals.append([cursor, end])

    def take(self, number: int) -> bool:
        """Whether ``number`` is missing; it no longer is afterwards."""
        index = bisect.bisect_right(self.intervals, [number, _FAR]) - 1
        if index < 0 or not self.intervals[index][0] <= number <= self.intervals[index][1]:
            return False
        first, last = self.intervals[index]
        pieces = [[first, number - 1]] if first < number else []
        pieces += [[number + 1, last]] if number < last else []
        self.intervals[index : index + 1] = pieces
        return True


Item = _Row | tuple[int, int]  # a kept record, or a stretch of records in place (first, last)


class _Classification:
    """Names what happened to the records the walk kept (see the module's docstring)."""

    def __init__(
        self,
        walk: _Walk,
        end: int,
        head: tuple[int, bytes] | None,
        checkpoint_seqs: list[int],
        hashes: Callable[[], Iterator[tuple[int, bytes]]],
    ) -> None:
        self.walk = walk
        self.start = walk.start
        self.end = end  # the last number the gateway wrote
        self.head = head
        self.checkpoint_seqs = checkpoint_seqs
        self.hashes = hashes
        self.rows = walk.kept
        self.findings: list[Finding] = []
        self.positions = {row.p: row for row in self.rows}
        last = walk.last_p if walk.last_p is not None else walk.start
        self.last_p = last if walk.overflow_at is None else walk.overflow_at - 1

    def run(self) -> list[Finding]:
        self._resolve_numbers()
        self._outsiders_and_copies()
        self._reordered()
        missing = _Missing(self._present(), self.start, self._known_end())
        self._foreign(missing)
        self._broken_links()
        for first, last in missing.intervals:
            tail = " (the last records)" if last == self.end and first > self.last_p else ""
            self.findings.append(
                Finding(FindingKind.DELETED, first, last, f"missing{tail} / 記録がありません")
            )
        self._mismatches()
        self._renumbered()
        if self.walk.overflow_at is not None and self.walk.last_p is not None:
            self._add(
                FindingKind.CHANGED,
                self.walk.overflow_at,
                self.walk.last_p,
                f"not classified: more than {MAX_IRREGULAR} irregular records",
            )
        return _merged(self.findings)

    @property
    def _archived_part(self) -> str:
        return f"in the part of the log archived up to {self.start}"

    def _add(self, kind: FindingKind, first: int, last: int, detail: str) -> None:
        self.findings.append(Finding(kind, first, last, detail))

    def _judge(self, row: _Row, kind: FindingKind, detail: str) -> None:
        row.verdict = kind
        self._add(kind, row.p, row.p, detail)

    # The number each record was written with --------------------------------------------

    def _resolve_numbers(self) -> None:
        by_hash: dict[bytes, _Row] = {}
        for row in self.rows:
            if row.ok:
                row.t = row.p
            by_hash.setdefault(row.hash, row)
        pending = [row for row in self.rows if not row.ok]
        self._try_numbers(pending, by_hash, {})
        unknown = {
            row.prev
            for row in pending
            if row.t is None and row.prev not in by_hash and row.prev != self.walk.start_hash
        }
        if unknown:  # a record moved far: find its predecessor among all the records
            found = {stored: seq for seq, stored in self.hashes() if stored in unknown}
            self._try_numbers(pending, by_hash, found)

    def _try_numbers(
        self, pending: list[_Row], by_hash: dict[bytes, _Row], found: dict[bytes, int]
    ) -> None:
        progress = True
        while progress:
            progress = False
            for row in pending:
                if row.t is not None:
                    continue
                for number in self._candidates(row, by_hash, found):
                    if number > 0 and record_hash(row.prev, number, row.digest) == row.hash:
                        row.t = number
                        progress = True
                        break

    def _candidates(
        self, row: _Row, by_hash: dict[bytes, _Row], found: dict[bytes, int]
    ) -> Iterator[int]:
        predecessor = by_hash.get(row.prev)
        if predecessor is not None and predecessor.t is not None:
            yield predecessor.t + 1
        if row.prev == self.walk.start_hash:
            yield self.start + 1
        if row.prev in found:
            yield found[row.prev] + 1  # a record in place: its number is its position
        yield row.p - 1
        yield row.p + 1

    # Records the gateway did not write ---------------------------------------------------

    def _in_place(self, number: int) -> bool:
        """Whether a record not kept is stored as ``number`` (and so was written as it)."""
        first = self.walk.first_p
        return first is not None and first <= number <= self.last_p and number not in self.positions

    def _outsiders_and_copies(self) -> None:
        claims: dict[int, list[_Row]] = {}
        for row in self.rows:
            if row.t is not None:
                claims.setdefault(row.t, []).append(row)
        for row in self.rows:
            if row.t is None:
                continue
            if row.t > self.end:
                self._judge(
                    row,
                    FindingKind.INSERTED,
                    f"after the last record the gateway wrote ({self.end})",
                )
            elif row.t <= self.start:
                self._judge(row, FindingKind.INSERTED, self._archived_part)
            elif row.displaced:
                rivals = claims[row.t]
                original = self._in_place(row.t) or any(rival.p == rival.t for rival in rivals)
                if original or rivals[0] is not row:
                    self._judge(row, FindingKind.INSERTED, f"a copy of record {row.t}")

    # Order ----------------------------------------------------------------------------------

    def _items(self) -> list[Item]:
        items: list[Item] = []
        cursor = self.walk.first_p if self.walk.first_p is not None else self.start + 1
        for row in self.rows:
            if row.after_stretch and row.p > cursor:
                items.append((cursor, row.p - 1))
            items.append(row)
            cursor = row.p + 1
        if cursor <= self.last_p:
            items.append((cursor, self.last_p))
        return items

    def _reordered(self) -> None:
        """Records whose written numbers go down along the stored order: moved."""
        before: _Row | None = None  # the kept record just before, None after a stretch
        highest = self.start
        for item in self._items():
            if isinstance(item, tuple):
                if item[0] < highest and before is not None and before.displaced:
                    self._moved(before)
                highest, before = item[1], None
                continue
            if item.t is None or item.verdict is not None:
                continue
            if item.t < highest:
                moved_before = before is not None and before.displaced and before.verdict is None
                if moved_before:
                    self._moved(before)  # type: ignore[arg-type]
                if item.displaced:
                    self._moved(item)
                    if moved_before:
                        highest = max(highest, item.t)
                    continue
            highest, before = item.t, item

    def _moved(self, row: _Row) -> None:
        self._judge(
            row, FindingKind.REORDERED, f"written as record {row.t} / 記録{row.t}が移動されています"
        )

    # Missing records, and what took their place ----------------------------------------

    def _known_end(self) -> int:
        return self.end if self.walk.overflow_at is None else min(self.end, self.last_p)

    def _present(self) -> list[tuple[int, int]]:
        present = [item for item in self._items() if isinstance(item, tuple)]
        present += [(row.t, row.t) for row in self.rows if row.t is not None]
        return present

    def _foreign(self, missing: _Missing) -> None:
        """A record whose content matches no number: changed in place, or foreign."""
        items = [item for item in self._items() if isinstance(item, tuple) or item.verdict is None]
        following: list[int | None] = []
        upcoming: int | None = None
        for item in reversed(items):
            following.append(upcoming)
            if isinstance(item, tuple):
                upcoming = item[0]
            elif item.t is not None:
                upcoming = item.t
        following.reverse()
        highest = self.start
        for item, after in zip(items, following, strict=True):
            if isinstance(item, tuple):
                highest = item[1]
            elif item.t is not None:
                highest = item.t
            elif item.p > self.end:
                self._judge(
                    item,
                    FindingKind.INSERTED,
                    f"after the last record the gateway wrote ({self.end})",
                )
            elif item.p <= self.start:
                self._judge(item, FindingKind.INSERTED, self._archived_part)
            elif (after is None or highest + 1 < after) and missing.take(highest + 1):
                highest += 1
                renumbered = "" if highest == item.p else f" (written as record {highest})"
                self._judge(
                    item,
                    FindingKind.CHANGED,
                    f"its content no longer matches its hash{renumbered}"
                    " / 内容が改ざんされています",
                )
            else:
                self._judge(
                    item,
                    FindingKind.INSERTED,
                    "not written by the gateway: it takes no missing record's place"
                    " / ゲートウェイが書いていない記録です",
                )

    # Hashes recomputed ------------------------------------------------------------------

    def _broken_links(self) -> None:
        """Two records in place whose link is broken: one of them was rewritten whole."""
        for index, row in enumerate(self.rows):
            if row.verdict is not None or row.linked or not row.contiguous or row.t != row.p:
                continue
            before = self.rows[index - 1] if index and self.rows[index - 1].p == row.p - 1 else None
            if before is None:
                if row.p == self.start + 1:
                    self._judge(
                        row, FindingKind.CHANGED, "it does not link to the start of the chain"
                    )
                continue
            if before.verdict is not None or before.t != before.p:
                continue  # explained by what happened to the record before
            if self._outgoing_broken(index, row):
                self._judge(
                    row,
                    FindingKind.CHANGED,
                    "replaced by a record with a recomputed hash: neither neighbour links to it"
                    " / 記録が差し替えられています",
                )
            else:
                self._judge(
                    before,
                    FindingKind.CHANGED,
                    "rewritten with a recomputed hash: the next record still links to the"
                    " original / 記録が書き換えられています",
                )

    def _outgoing_broken(self, index: int, row: _Row) -> bool:
        after = self.rows[index + 1] if index + 1 < len(self.rows) else None
        if after is not None and after.p == row.p + 1:
            return after.verdict is None and after.ok and not after.linked and after.t == after.p
        if row.next_linked is None and self.head is not None and self.head[0] == row.p:
            return self.head[1] != row.hash
        return False

    def _mismatches(self) -> None:
        """A checkpoint (or the head) that does not match: the records it covers since the
        one before were rewritten, hashes and all, unless another finding says how."""
        written = {row.t: row for row in self.rows if row.t is not None and row.verdict is None}
        for seq, expected, who in self.walk.mismatches:
            there = self.positions.get(seq)
            if there is not None and there.t != seq:  # another record is stored as ``seq``
                moved = written.get(seq)
                if moved is None or moved.hash == expected:
                    continue  # missing (said above), or moved and intact
            since = max([self.start, *(s for s in self.checkpoint_seqs if s < seq)])
            if any(f.first <= seq and f.last > since for f in self.findings):
                continue
            self._add(
                FindingKind.CHANGED,
                since + 1,
                seq,
                f"the {who} at {seq} does not match: records after {since} were rewritten"
                " with recomputed hashes / 記録が書き換えられています",
            )

    def _renumbered(self) -> None:
        """Records renumbered after a deletion or insertion: said once, with it."""
        runs: list[list[_Row]] = []
        for row in self.rows:
            if row.verdict is not None or not row.displaced:
                continue
            run = runs[-1] if runs else None
            if (
                run
                and row.p == run[-1].p + 1
                and row.t is not None
                and run[-1].t is not None
                and row.p - row.t == run[-1].p - run[-1].t
            ):
                run.append(row)
            else:
                runs.append([row])
        for run in runs:
            first, last = run[0], run[-1]
            note = f"records {first.t}–{last.t} renumbered as {first.p}–{last.p}"
            causes = [
                index
                for index, finding in enumerate(self.findings)
                if finding.kind in (FindingKind.DELETED, FindingKind.INSERTED)
                and finding.first <= first.p
            ]
            if causes:
                cause = self.findings[causes[-1]]
                self.findings[causes[-1]] = replace(cause, detail=f"{cause.detail}; {note}")
            else:
                self._add(
                    FindingKind.REORDERED, first.p, last.p, f"{note} / 番号が付け替えられています"
                )


def _merged(findings: list[Finding]) -> list[Finding]:
    """Sorted, with neighbouring findings of one kind and detail made one range."""
    merged: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.first, f.last, f.kind.value)):
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.kind is finding.kind
            and previous.detail == finding.detail
            and previous.last + 1 == finding.first
        ):
            merged[-1] = replace(previous, last=finding.last)
        else:
            merged.append(finding)
    return merged


# Checking a chain from any source ------------------------------------------------------------


def check_chain(
    source: ChainSource,
    *,
    root: x509.Certificate | None,
    progress: Progress | None = None,
    ends_at_checkpoint: bool = False,
) -> LogReport:
    """Check ``source``'s checkpoints and records; ``ends_at_checkpoint``: records after the
    last valid checkpoint were not written by the gateway (an archive ends at one)."""
    findings: list[Finding] = []
    valid: list[Checkpoint] = []
    for stored_as, token in source.checkpoints:
        try:
            checkpoint = verify_checkpoint(token, root)
        except CheckpointInvalid as error:
            findings.append(
                Finding(
                    FindingKind.CHECKPOINT, stored_as, stored_as, f"{error} / 署名を確認できません"
                )
            )
            continue
        if checkpoint.seq != stored_as:
            findings.append(
                Finding(
                    FindingKind.CHECKPOINT,
                    stored_as,
                    stored_as,
                    f"signed for record {checkpoint.seq}, stored as {stored_as}",
                )
            )
            continue
        valid.append(checkpoint)
    valid.sort(key=lambda checkpoint: checkpoint.seq)
    findings += _start_findings(source, root)
    sealed = valid[-1].seq if valid else source.start
    head = source.head
    if ends_at_checkpoint:
        head = (sealed, valid[-1].hash) if valid else (source.start, source.start_hash)
    targets = [(c.seq, c.hash, "signed checkpoint") for c in valid if c.seq > source.start]
    if head is not None and not ends_at_checkpoint and head[0] > source.start:
        targets.append((head[0], head[1], "head"))
    targets.sort(key=lambda target: target[0])
    end = max(head[0] if head else 0, sealed, source.start)
    walk = _Walk(source.start, source.start_hash, end if head else _FAR, targets)
    expected = max(source.expected, 1)
    walk.run(source.rows(), lambda done: progress(done, max(done, expected)) if progress else None)
    if head is None:  # the head was removed: the records say where the log ends
        end = max(end, walk.last_p or source.start)
    classification = _Classification(walk, end, head, [c.seq for c in valid], source.hashes)
    findings += classification.run()
    return LogReport(
        records=walk.rows,
        start=source.start,
        last=walk.last_p if walk.last_p is not None else source.start,
        checkpoints=len(valid),
        sealed=sealed,
        signers=tuple(sorted({checkpoint.signer for checkpoint in valid})),
        rooted=root is not None,
        findings=tuple(sorted(findings, key=lambda f: (f.first, f.last))),
    )


def _start_findings(source: ChainSource, root: x509.Certificate | None) -> list[Finding]:
    """The chain of an archive or pruned log starts from a signed checkpoint: is it?"""
    if source.start == 0:
        return []

    def finding(detail: str) -> list[Finding]:
        return [
            Finding(
                FindingKind.CHECKPOINT,
                source.start,
                source.start,
                f"the checkpoint the chain starts from: {detail}",
            )
        ]

    if source.start_checkpoint is None:
        return finding("missing")
    try:
        checkpoint = verify_checkpoint(source.start_checkpoint, root)
    except CheckpointInvalid as error:
        return finding(str(error))
    if checkpoint.seq != source.start or checkpoint.hash != source.start_hash:
        return finding("it signs another record")
    return []


# The gateway's database ----------------------------------------------------------------------

_BATCH = 10_000


def verify_log(
    engine: Engine, *, root: x509.Certificate | None = None, progress: Progress | None = None
) -> LogReport:
    """Verify the message log in the gateway database of ``engine``, as of one moment.

    Records appended meanwhile are not seen: the walk reads one snapshot (PostgreSQL
    REPEATABLE READ, an SQLite read transaction), so a gateway can keep working.
    """
    with read_snapshot(engine) as connection:
        return check_chain(database_source(connection), root=root, progress=progress)


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see the database as of one moment."""
    if engine.dialect.name == "postgresql":
        with (
            engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
            connection.begin(),
        ):
            yield connection
        return
    with engine.connect() as connection:
        # pysqlite begins a transaction only before a write: each read would see its moment.
        connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.rollback()


def database_source(connection: Connection) -> ChainSource:
    """The chain in the gateway database ``connection`` reads, from its newest anchor on."""
    anchors, head, checkpoints, records = ANCHORS.c, HEAD.c, CHECKPOINTS.c, RECORDS
    anchor = connection.execute(
        select(anchors.seq, anchors.hash, anchors.checkpoint).order_by(anchors.seq.desc()).limit(1)
    ).first()
    start, start_hash, start_checkpoint = anchor if anchor else (0, GENESIS, None)
    stated = connection.execute(select(head.seq, head.hash).where(head.id == 1)).first()
    tokens = connection.execute(
        select(checkpoints.seq, checkpoints.token)
        .where(checkpoints.seq > start)
        .order_by(checkpoints.seq)
    ).all()

    def rows() -> Iterator[Sequence[Sequence[Any]]]:
        statement = (
            select(*(records.c[name] for name in STORED_COLUMNS))
            .order_by(records.c.seq)
            .execution_options(yield_per=_BATCH)
        )
        yield from connection.execute(statement).partitions()

    def hashes() -> Iterator[tuple[int, bytes]]:
        statement = (
            select(records.c.seq, records.c.hash)
            .order_by(records.c.seq)
            .execution_options(yield_per=_BATCH)
        )
        yield from ((seq, stored) for seq, stored in connection.execute(statement))

    return ChainSource(
        start=start,
        start_hash=start_hash,
        start_checkpoint=start_checkpoint,
        head=(stated[0], stated[1]) if stated else None,
        checkpoints=[(seq, token) for seq, token in tokens],
        expected=(stated[0] - start) if stated else 0,
        rows=rows,
        hashes=hashes,
    )
