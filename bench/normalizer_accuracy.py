"""Accuracy of the address normaliser on the geolonia evaluation set, by failure class.

A row counts as correct when (都道府県, 市区町村, 町字) equal ours, comparing towns after
removing a leading 大字 and folding ヶ to ケ on both sides. Writes nothing; prints a report.

    .venv/bin/python bench/normalizer_accuracy.py [--eval-set PATH] [--examples N]
"""

from __future__ import annotations

import argparse
import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kiban.registry.addresses.normalizer import AddressNormalizer, NormalizedAddress
from kiban.registry.addresses.text import KANJI_NUMERAL_CHARACTERS, display_form, match_form
from kiban.registry.postal import PostalRecord, iter_records

# The evaluation data shared by peer projects sits beside the repository, in shared/eval.
DEFAULT_EVAL_SET = Path(__file__).resolve().parents[2] / "shared/eval/addresses-geolonia.csv"
_CHOME_SUFFIX = re.compile(f"[{KANJI_NUMERAL_CHARACTERS}]+丁目?$")


@dataclass(frozen=True, slots=True)
class Row:
    address: str
    prefecture: str
    city: str
    town: str


@dataclass(frozen=True, slots=True)
class Failure:
    row: Row
    result: NormalizedAddress


def comparable_town(town: str | None) -> str:
    return (town or "").removeprefix("大字").replace("ヶ", "ケ")


def is_correct(row: Row, result: NormalizedAddress) -> bool:
    return (row.prefecture, row.city, comparable_town(row.town)) == (
        result.pref or "",
        result.city or "",
        comparable_town(result.town),
    )


def _folded(name: str) -> str:
    return match_form(display_form(name))


def _without_chome(town: str) -> str:
    return _CHOME_SUFFIX.sub("", comparable_town(town))


class FailureClassifier:
    """Names the reason a row fails, in the order the checks are listed in ``classes``."""

    def __init__(self, records: list[PostalRecord]) -> None:
        self._postal_towns: dict[tuple[str, str], set[str]] = {}
        for record in records:
            towns = self._postal_towns.setdefault((record.prefecture, record.city), set())
            towns.add(_folded(record.town))
        self.classes: list[tuple[str, Callable[[Failure], bool]]] = [
            ("prefecture or municipality differs", self._municipality_differs),
            ("eval set expects no town", lambda f: not f.row.town),
            ("eval 町字 includes Kyoto street directions", self._kyoto_street_expected),
            ("registry town has no 丁目 the input names", self._extra_chome),
            ("registry writes a variant character", self._variant_character),
            ("registry town absent from postal data", self._absent_from_postal),
            ("小字 appended that the registry does not list", self._extra_koaza),
            ("other", lambda f: True),
        ]

    def classify(self, failure: Failure) -> str:
        return next(name for name, applies in self.classes if applies(failure))

    @staticmethod
    def _municipality_differs(failure: Failure) -> bool:
        return (failure.row.prefecture, failure.row.city) != (
            failure.result.pref,
            failure.result.city,
        )

    @staticmethod
    def _kyoto_street_expected(failure: Failure) -> bool:
        ours = failure.result.town or ""
        expected = failure.row.town
        return bool(ours) and expected.startswith(ours) and "通" in expected[len(ours) :]

    @staticmethod
    def _extra_chome(failure: Failure) -> bool:
        ours = comparable_town(failure.result.town)
        return ours != comparable_town(failure.row.town) and _without_chome(ours) == (
            comparable_town(failure.row.town)
        )

    @staticmethod
    def _variant_character(failure: Failure) -> bool:
        return _folded(comparable_town(failure.row.town)) == _folded(
            comparable_town(failure.result.town)
        )

    def _absent_from_postal(self, failure: Failure) -> bool:
        known = self._postal_towns.get((failure.row.prefecture, failure.row.city), set())
        expected = _folded(_without_chome(failure.row.town)).removeprefix("字")
        return expected not in known

    @staticmethod
    def _extra_koaza(failure: Failure) -> bool:
        ours = comparable_town(failure.result.town)
        expected = comparable_town(failure.row.town)
        return ours.startswith(expected) and "字" in ours[len(expected) :]


def read_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as stream:
        return [
            Row(line["住所"], line["都道府県"], line["市区町村"], line["町字"])
            for line in csv.DictReader(stream)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-set", type=Path, default=DEFAULT_EVAL_SET)
    parser.add_argument("--examples", type=int, default=1, help="examples shown per class")
    arguments = parser.parse_args()

    records = list(iter_records())
    normalizer = AddressNormalizer.from_records(records)
    rows = read_rows(arguments.eval_set)
    classifier = FailureClassifier(records)
    by_class: dict[str, list[Failure]] = {name: [] for name, _ in classifier.classes}
    correct = 0
    for row in rows:
        result = normalizer.normalize(row.address)
        if is_correct(row, result):
            correct += 1
        else:
            failure = Failure(row, result)
            by_class[classifier.classify(failure)].append(failure)

    console = Console()
    console.print(f"[bold]Address normaliser accuracy[/bold] on {arguments.eval_set.name}")
    console.print(
        f"{correct:,} / {len(rows):,} rows correct: [bold]{correct / len(rows):.2%}[/bold]"
    )
    table = Table("failure class", "rows", "example: input → expected | ours")
    for name, failures in by_class.items():
        if not failures:
            continue
        examples = "\n".join(
            f"{failure.row.address} → {failure.row.town or '∅'} | {failure.result.town or '∅'}"
            + (f" ({failure.result.city})" if failure.result.city != failure.row.city else "")
            for failure in failures[: arguments.examples]
        )
        table.add_row(name, str(len(failures)), examples)
    console.print(table)


if __name__ == "__main__":
    main()
