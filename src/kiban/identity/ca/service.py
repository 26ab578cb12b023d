"""Issuing, revoking and vouching for certificates: the CA's work, bound to the register.

Each certificate is recorded in ``issued_certificates`` under its serial number with the
resident record (or mesh member) it was issued for; status questions (CRL, OCSP, sign-in)
are answered from that register.  Every issuance and revocation leaves an audit event.
The service never commits: the command or request that owns the session does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from sqlalchemy.orm import Session

from kiban.core.audit import AuditOutcome, record_audit
from kiban.core.config import Settings
from kiban.core.errors import NotFound, ProblemError
from kiban.identity.ca.authority import (
    Authority,
    cached_authority,
    fingerprint,
    load_authority,
)
from kiban.identity.ca.models import (
    CertificateKind,
    CertificateStatus,
    IssuedCertificate,
    RevocationReason,
)
from kiban.identity.ca.profiles import (
    BACKDATE,
    HOLDER_VALIDITY,
    BasicInformation,
    holder_builder,
    organisation_name,
    policy_of,
    random_holder_name,
)
from kiban.identity.ca.repository import CertificateRepository, RegisterAnswer, RegisterEntry
from kiban.residents.codes import ResidentStatus
from kiban.residents.models import Resident

JAPAN = ZoneInfo("Asia/Tokyo")
SIGNING_MINIMUM_AGE = 15  # 署名用電子証明書 is not issued to children under 15
CRL_LIFETIME = timedelta(hours=24)
OCSP_LIFETIME = timedelta(hours=1)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; kiban only ever stores UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def serial_hex(serial_number: int) -> str:
    return f"{serial_number:x}"


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


_REASON_FLAGS = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
}


class CertificateProblem(ProblemError):
    def __init__(self, status: int, slug: str, detail: str) -> None:
        super().__init__(status, slug, "Certificate problem / 電子証明書の問題", detail)


class CertificateRejected(Exception):
    """A presented certificate does not hold; ``slug`` says which check refused it."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Issued:
    certificate: x509.Certificate
    record: IssuedCertificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class ResidentCertificates:
    authentication: Issued
    signing: Issued | None  # None for residents under 15


def resident_subject(tenant_code: str, addressee_number: str) -> str:
    """How audit events name a resident: by record, never by name."""
    return f"resident:{tenant_code}:{addressee_number}"


class CertificateRegister:
    """Revocation: needs no key, only the register, so movement handlers can use it directly."""

    def __init__(self, session: Session, *, now: Clock = utc_now) -> None:
        self.session = session
        self.now = now
        self.repository = CertificateRepository(session)

    def revoke(self, serial: str, reason: RevocationReason, *, actor: str) -> IssuedCertificate:
        record = self.repository.get(serial.strip().lower().removeprefix("0x"))
        if record is None:
            raise NotFound("No certificate with this serial number / 該当する証明書がありません")
        if record.status == CertificateStatus.REVOKED:
            raise CertificateProblem(
                409, "already-revoked", "The certificate is already revoked / 失効済みです"
            )
        self._revoke(record, reason, actor=actor, now=self.now())
        return record

    def revoke_resident(
        self,
        tenant_code: str,
        addressee_number: str,
        kinds: Collection[CertificateKind],
        reason: RevocationReason,
        *,
        actor: str,
    ) -> list[IssuedCertificate]:
        """Revoke the resident's unrevoked certificates of ``kinds``; the ones revoked now."""
        now = self.now()
        revoked = list(self.repository.valid_of_resident(tenant_code, addressee_number, kinds))
        for record in revoked:
            self._revoke(record, reason, actor=actor, now=now)
        return revoked

    def _revoke(
        self, record: IssuedCertificate, reason: RevocationReason, *, actor: str, now: datetime
    ) -> None:
        record.status = CertificateStatus.REVOKED.value
        record.revoked_at = now
        record.revocation_reason = reason.value
        self.session.flush()
        record_audit(
            self.session,
            "certificate.revoke",
            AuditOutcome.SUCCESS,
            actor=actor,
            tenant_code=record.tenant_code,
            subject=_holder(record),
            details={"serial": record.serial_number, "kind": record.kind, "reason": reason.value},
            now=now,
        )


class CertificateAuthorityService:
    def __init__(self, session: Session, settings: Settings, *, now: Clock = utc_now) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.repository = CertificateRepository(session)
        self.register = CertificateRegister(session, now=now)
        self._authority: Authority | None = None

    @property
    def authority(self) -> Authority:
        if self._authority is None:
            self._authority = load_authority(self.session)
        return self._authority

    # Issuance ---------------------------------------------------------------------------

    def issue_for_resident(
        self,
        tenant_code: str,
        addressee_number: str,
        *,
        authentication_key: ec.EllipticCurvePublicKey,
        signing_key: ec.EllipticCurvePublicKey,
        actor: str,
    ) -> ResidentCertificates:
        """A new card's certificates; the holder's earlier ones are revoked as superseded.

        The signing certificate is left out for a resident under 15 on the day of issue.
        """
        resident = self.repository.resident(tenant_code, addressee_number)
        if resident is None:
            raise NotFound(f"Tenant {tenant_code} has no resident with this 宛名番号.")
        if resident.status != ResidentStatus.RESIDENT:
            raise CertificateProblem(
                409,
                "not-a-resident",
                "Certificates are issued to current residents only"
                " / 住民でない方には発行できません",
            )
        now = self.now()
        self.register.revoke_resident(
            tenant_code,
            addressee_number,
            (CertificateKind.AUTHENTICATION, CertificateKind.SIGNING),
            RevocationReason.SUPERSEDED,
            actor=actor,
        )
        authentication = self._issue(
            CertificateKind.AUTHENTICATION,
            random_holder_name(CertificateKind.AUTHENTICATION),
            authentication_key,
            now=now,
            actor=actor,
            tenant_code=tenant_code,
            addressee_number=addressee_number,
        )
        signing = None
        if age_on(resident.birth_date, now.astimezone(JAPAN).date()) >= SIGNING_MINIMUM_AGE:
            signing = self._issue(
                CertificateKind.SIGNING,
                random_holder_name(CertificateKind.SIGNING),
                signing_key,
                now=now,
                actor=actor,
                tenant_code=tenant_code,
                addressee_number=addressee_number,
                basic_information=self.basic_information(resident),
            )
        return ResidentCertificates(authentication, signing)

    def basic_information(self, resident: Resident) -> BasicInformation:
        address = self.repository.address_prefix(resident.lg_code) + resident.town_name
        address += resident.banchi
        if resident.katagaki:
            address += f" {resident.katagaki}"
        return BasicInformation(
            name=f"{resident.family_name} {resident.given_name}",
            address=address,
            birth_date=resident.birth_date,
            sex=resident.sex,
        )

    def issue_organisation_certificate(
        self,
        member_code: str,
        organisation: str,
        public_key: ec.EllipticCurvePublicKey,
        *,
        actor: str,
    ) -> Issued:
        """A mesh member's certificate (subject CN = its member code, e.g. ``JP/LG/131016``)."""
        return self._issue(
            CertificateKind.ORGANISATION,
            organisation_name(member_code, organisation),
            public_key,
            now=self.now(),
            actor=actor,
            member_code=member_code,
        )

    def _issue(
        self,
        kind: CertificateKind,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        *,
        now: datetime,
        actor: str,
        tenant_code: str | None = None,
        addressee_number: str | None = None,
        member_code: str | None = None,
        basic_information: BasicInformation | None = None,
    ) -> Issued:
        authority = self.authority
        # Never beyond the issuing CA: a chain is only as valid as its shortest link.
        not_after = min(now + HOLDER_VALIDITY, authority.issuing.not_valid_after_utc)
        if not_after <= now:
            raise CertificateProblem(
                409,
                "issuing-ca-expired",
                "The issuing CA has expired / 発行局の証明書が期限切れです",
            )
        serial_number = x509.random_serial_number()
        builder = holder_builder(
            kind,
            subject,
            public_key,
            authority.issuing,
            serial_number=serial_number,
            not_before=now - BACKDATE,
            not_after=not_after,
            public_url=self.settings.public_url,
        )
        if basic_information is not None:
            builder = builder.add_extension(
                basic_information.subject_alternative_name(), critical=False
            )
        certificate = builder.sign(authority.issuing_key(self.settings), hashes.SHA256())
        record = IssuedCertificate(
            serial_number=serial_hex(serial_number),
            kind=kind.value,
            tenant_code=tenant_code,
            addressee_number=addressee_number,
            member_code=member_code,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            status=CertificateStatus.VALID.value,
            issued_at=now,
            fingerprint=fingerprint(certificate),
            certificate_der=certificate.public_bytes(serialization.Encoding.DER),
        )
        self.repository.add(record)
        record_audit(
            self.session,
            "certificate.issue",
            AuditOutcome.SUCCESS,
            actor=actor,
            tenant_code=tenant_code,
            subject=_holder(record),
            details={"serial": record.serial_number, "kind": kind.value},
            now=now,
        )
        return Issued(certificate, record)

    # Publication ------------------------------------------------------------------------

    def crl(self) -> bytes:
        """The DER CRL of revoked certificates still within their validity, signed by the CA."""
        authority = self.authority
        now = self.now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(authority.issuing.subject)
            .last_update(now)
            .next_update(now + CRL_LIFETIME)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    _ec_public_key(authority.issuing)
                ),
                critical=False,
            )
        )
        for serial, revoked_at, reason in self.repository.revoked_unexpired(now):
            entry = x509.RevokedCertificateBuilder().serial_number(int(serial, 16))
            entry = entry.revocation_date(as_utc(revoked_at))
            if reason != RevocationReason.UNSPECIFIED:  # RFC 5280: omit rather than say so
                entry = entry.add_extension(
                    x509.CRLReason(_REASON_FLAGS[RevocationReason(reason)]), critical=False
                )
            builder = builder.add_revoked_certificate(entry.build())
        crl = builder.sign(authority.issuing_key(self.settings), hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.DER)

    def ocsp_response(self, request_der: bytes) -> bytes:
        """A signed OCSP response (RFC 6960) to a DER request about one certificate."""
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            algorithm = request.hash_algorithm
        except (ValueError, x509.UnsupportedGeneralNameType) as error:
            raise CertificateProblem(
                400, "invalid-ocsp-request", f"Not a DER OCSP request: {error}"
            ) from None
        authority = self.authority
        issuing = authority.issuing
        name_hash, key_hash = _issuer_hashes(issuing, algorithm)
        if (request.issuer_name_hash, request.issuer_key_hash) != (name_hash, key_hash):
            # RFC 6960: this responder does not answer for other CAs' certificates.
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(serialization.Encoding.DER)
        now = self.now()
        record = self.repository.get(serial_hex(request.serial_number))
        status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        if record is not None and record.status == CertificateStatus.REVOKED:
            status = ocsp.OCSPCertStatus.REVOKED
            revoked_at = as_utc(record.revoked_at) if record.revoked_at else now
            reason = _REASON_FLAGS[RevocationReason(record.revocation_reason or "unspecified")]
        elif record is not None:
            status = ocsp.OCSPCertStatus.GOOD
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                name_hash,
                key_hash,
                request.serial_number,
                algorithm,
                status,
                now,
                now + OCSP_LIFETIME,
                revoked_at,
                reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, issuing)
        )
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
            builder = builder.add_extension(nonce, critical=False)
        except x509.ExtensionNotFound:
            pass
        response = builder.sign(authority.issuing_key(self.settings), hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)

    # Verification -----------------------------------------------------------------------

    def verify_holder_certificate(
        self, certificate: x509.Certificate, kind: CertificateKind
    ) -> RegisterEntry:
        """The register entry of a certificate that holds now; else CertificateRejected.

        Checks, cheapest first: issued by this deployment's issuing CA (whose chain to the
        root was checked when it was loaded), within its validity and the CA's, of ``kind``
        by its policy and by the register, the very certificate the register holds, and not
        revoked.  The entry says whether its holder is still a resident.

        The CA comes from the process's cache by the certificate's authority key identifier,
        and the statement that reads the register also confirms that it is still this
        database's issuing CA; only when it is not is the CA loaded again.
        """
        serial = serial_hex(certificate.serial_number)
        cached = None if self._authority else cached_authority(certificate)
        if cached is not None:
            answer = self.repository.answer(serial)
            if answer.issuing_fingerprint == cached.issuing_fingerprint:
                self._authority = cached
                return self._verify(certificate, kind, cached, answer)
        return self._verify(certificate, kind, self.authority, None)

    def _verify(
        self,
        certificate: x509.Certificate,
        kind: CertificateKind,
        authority: Authority,
        answer: RegisterAnswer | None,
    ) -> RegisterEntry:
        """The checks, against ``authority``, the database's issuing CA."""
        try:
            certificate.verify_directly_issued_by(authority.issuing)
        except (ValueError, TypeError, InvalidSignature):
            raise CertificateRejected(
                "unknown-issuer",
                "The certificate was not issued by this CA"
                " / この認証局が発行した証明書ではありません",
            ) from None
        now = self.now()
        for checked in (certificate, authority.issuing, authority.root):
            if not checked.not_valid_before_utc <= now <= checked.not_valid_after_utc:
                raise CertificateRejected(
                    "certificate-expired",
                    "The certificate is not valid at this time / 証明書の有効期間外です",
                )
        if policy_of(certificate) is not kind:
            raise CertificateRejected(
                "wrong-certificate-kind",
                f"Not a {kind.value} certificate / 用途の異なる証明書です",
            )
        if answer is None:
            answer = self.repository.answer(serial_hex(certificate.serial_number))
        entry = answer.entry
        if entry is None or entry.kind != kind or entry.fingerprint != fingerprint(certificate):
            raise CertificateRejected(
                "unknown-certificate", "The certificate is not in the register / 登録がありません"
            )
        if entry.status != CertificateStatus.VALID:
            raise CertificateRejected(
                "certificate-revoked", "The certificate has been revoked / 証明書は失効しています"
            )
        return entry


def _holder(record: IssuedCertificate) -> str:
    if record.member_code is not None:
        return f"member:{record.member_code}"
    return resident_subject(record.tenant_code or "", record.addressee_number or "")


def _ec_public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # kiban's CA keys are always P-256
    return key


def _issuer_hashes(
    issuing: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> tuple[bytes, bytes]:
    """issuerNameHash and issuerKeyHash of RFC 6960 CertID, in the request's hash algorithm."""
    name = issuing.subject.public_bytes()
    key = _ec_public_key(issuing).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _digest(algorithm, name), _digest(algorithm, key)


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    return hashlib.new(algorithm.name, data).digest()
