"""A consumer's request for consent, as the link it sends the resident to carries it.

``/me/consents/new?consumer=…&service=…&items=…&purpose=…&explanation=…&until=…&kind=…``:
the consumer's site builds the link, so everything in it is checked here, field by field,
before the resident is shown anything; a faulty link is answered with every fault it has, in
Japanese and English, for the resident to pass on.  What needs the registry — is the consumer
approved, the service published, each item one of its operations — is checked by
:class:`kiban.mesh.consent.service.ConsentService` after this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from kiban.mesh.consent.models import EXPLANATION_MAX_LENGTH, WHOLE_SERVICE, ConsentKind
from kiban.mesh.identifiers import InvalidMeshIdentifier, ServiceId, SubsystemId, chosen_code
from kiban.mesh.registry.access import Endpoint
from kiban.mesh.registry.service import RegistrationRefused

MAX_ITEMS = 20
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class FieldError:
    """What is wrong with one field of the request, for the resident and the consumer."""

    field: str
    ja: str
    en: str


class InvalidConsentRequest(Exception):
    """The request cannot be shown to the resident; ``errors`` says why, field by field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.en}" for error in errors))
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """What the consumer asks the resident to allow."""

    consumer: SubsystemId
    service: ServiceId
    items: tuple[str, ...]  # ("*",) for the whole service, else its operations, sorted
    purpose: str
    explanation: str  # the consumer's own words
    until: date  # the last day, Japan time
    kind: ConsentKind

    def fields(self) -> list[tuple[str, str]]:
        """The request as the fields it came in, for the form with which it is granted."""
        return [
            ("consumer", str(self.consumer)),
            ("service", str(self.service)),
            *(("items", item) for item in self.items),
            ("purpose", self.purpose),
            ("explanation", self.explanation),
            ("until", self.until.isoformat()),
            ("kind", self.kind.value),
        ]


def one_year_after(day: date) -> date:
    """The same day a year later (28 February for 29 February): a consent's longest reach."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


class _Reader:
    """Reads the fields one by one, collecting what is wrong rather than stopping at it."""

    def __init__(self, fields: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in fields:
            self.values.setdefault(name, []).append(value.strip())
        self.errors: list[FieldError] = []

    def fault(self, field: str, ja: str, en: str) -> None:
        self.errors.append(FieldError(field, ja, en))

    def one(self, field: str) -> str | None:
        values = [value for value in self.values.get(field, []) if value]
        if not values:
            self.fault(field, "指定されていません。", "is missing.")
            return None
        if len(values) > 1:
            self.fault(field, "複数指定されています。", "is given more than once.")
            return None
        return values[0]

    def consumer(self) -> SubsystemId | None:
        text = self.one("consumer")
        try:
            return SubsystemId.parse(text) if text is not None else None
        except InvalidMeshIdentifier as error:
            self.fault(
                "consumer",
                "サブシステムの識別子（JP/COM/法人番号/サブシステム）ではありません。",
                f"not a subsystem identifier: {error}",
            )
            return None

    def service(self) -> ServiceId | None:
        text = self.one("service")
        try:
            return ServiceId.parse(text) if text is not None else None
        except InvalidMeshIdentifier as error:
            self.fault(
                "service",
                "サービスの識別子（JP/LG/団体コード/サブシステム/サービス）ではありません。",
                f"not a service identifier: {error}",
            )
            return None

    def items(self) -> tuple[str, ...] | None:
        texts = self.values.get("items", [])
        if not texts or not all(texts):
            self.fault(
                "items",
                "提供を求める情報（操作）が指定されていません。サービス全体なら * を指定します。",
                "is missing: name each operation (GET /path), or * for the whole service.",
            )
            return None
        if len(texts) > MAX_ITEMS:
            self.fault("items", f"{MAX_ITEMS}件までです。", f"at most {MAX_ITEMS} operations.")
            return None
        if WHOLE_SERVICE in texts:
            if len(set(texts)) > 1:
                self.fault(
                    "items",
                    "* （サービス全体）はほかの操作と一緒には指定できません。",
                    "* (the whole service) stands alone.",
                )
                return None
            return (WHOLE_SERVICE,)
        operations = set()
        for text in texts:
            try:
                operations.add(str(Endpoint.parse(text)))
            except RegistrationRefused as error:
                self.fault(
                    "items",
                    "「GET /パス」の形ではありません。",
                    f"not an operation: {error.detail}",
                )
                return None
        return tuple(sorted(operations))

    def purpose(self) -> str | None:
        text = self.one("purpose")
        try:
            return chosen_code("purpose", text) if text is not None else None
        except InvalidMeshIdentifier as error:
            self.fault("purpose", "利用目的のコードではありません。", str(error))
            return None

    def explanation(self) -> str | None:
        text = self.one("explanation")
        if text is None:
            return None
        if len(text) > EXPLANATION_MAX_LENGTH:
            self.fault(
                "explanation",
                f"{EXPLANATION_MAX_LENGTH}文字までです。",
                f"at most {EXPLANATION_MAX_LENGTH} characters.",
            )
            return None
        if not text.isprintable():
            self.fault(
                "explanation",
                "改行や制御文字は使えません。",
                "must be one line, without control characters.",
            )
            return None
        return text

    def until(self, today: date) -> date | None:
        text = self.one("until")
        if text is None:
            return None
        try:
            if not _DAY.fullmatch(text):
                raise ValueError(text)
            until = date.fromisoformat(text)
        except ValueError:
            self.fault("until", "YYYY-MM-DD形式の日付ではありません。", "not a day (YYYY-MM-DD).")
            return None
        latest = one_year_after(today)
        if until < today:
            self.fault("until", "過ぎた日付です。", "has passed (Japan time).")
        elif until > latest:
            self.fault(
                "until",
                f"同意の期限は最長1年（{latest.isoformat()}まで）です。",
                f"a consent lasts a year at most: until {latest.isoformat()}.",
            )
        else:
            return until
        return None

    def kind(self) -> ConsentKind | None:
        text = self.one("kind")
        try:
            return ConsentKind(text) if text is not None else None
        except ValueError:
            self.fault(
                "kind",
                "one-time（1回だけ）か periodic（期限まで繰り返し）のどちらかです。",
                "one-time or periodic.",
            )
            return None


def read_request(fields: Iterable[tuple[str, str]], today: date) -> ConsentRequest:
    """The request in ``fields`` (a link's query, or the form that grants it), checked on
    ``today`` (Japan time); :class:`InvalidConsentRequest` naming every faulty field."""
    reader = _Reader(fields)
    consumer, service, items = reader.consumer(), reader.service(), reader.items()
    purpose, explanation = reader.purpose(), reader.explanation()
    until, kind = reader.until(today), reader.kind()
    if (
        consumer is None
        or service is None
        or items is None
        or purpose is None
        or explanation is None
        or until is None
        or kind is None
    ):
        raise InvalidConsentRequest(reader.errors)
    return ConsentRequest(consumer, service, items, purpose, explanation, until, kind)
