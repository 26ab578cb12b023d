"""The address normaliser of a running process, built once from the registry tables."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from kiban.registry.addresses.normalizer import AddressNormalizer
from kiban.registry.addresses.repository import TownRepository

_build_lock = threading.Lock()


def build_normalizer(session: Session) -> AddressNormalizer:
    return AddressNormalizer.from_records(TownRepository(session).iter_postal_records())


def normalizer_for(state: object, factory: sessionmaker[Session]) -> AddressNormalizer:
    """The normaliser cached on ``state`` (the app's), built on first use from the database."""
    cached: AddressNormalizer | None = getattr(state, "address_normalizer", None)
    if cached is not None:
        return cached
    with _build_lock:
        cached = getattr(state, "address_normalizer", None)
        if cached is None:
            with factory() as session:
                cached = build_normalizer(session)
            state.address_normalizer = cached  # type: ignore[attr-defined]
    return cached


def get_normalizer(request: Request) -> AddressNormalizer:
    return normalizer_for(request.app.state, request.app.state.session_factory)


Normalizer = Annotated[AddressNormalizer, Depends(get_normalizer)]
