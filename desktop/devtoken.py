"""A SoftHSM2 token and a small CA hierarchy, for the demo and the tests.

Production offices use the government CA's USB token through its vendor's PKCS#11 module; this
module builds the same situation on a machine with Debian's `softhsm2`: a root CA, an
intermediate CA and signer certificates (made with `cryptography`), a SoftHSM2 token directory of
its own (SOFTHSM2_CONF), a token initialised with a user PIN and the signer's private key and
certificate stored on it. Nothing here is used by the application's normal paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CRL_URL = "http://crl.thu-nghiem.invalid/ca2.crl"  # never fetched: the application works offline
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


def softhsm_module() -> str | None:
    """The SoftHSM2 PKCS#11 module on this machine, or None when softhsm2 is not installed."""
    if shutil.which("softhsm2-util") is None:
        return None
    return next((p for p in SOFTHSM_MODULES if Path(p).is_file()), None)


def _name(cn: str, org: str = "", unit: str = "", place: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if place:
        attrs.append(x509.NameAttribute(NameOID.LOCALITY_NAME, place))
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issued:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _ca(name: x509.Name, issuer: Issued | None, days: int, path_length: int) -> Issued:
    """A CA certificate: self-signed when `issuer` is None."""
    now = datetime.now(timezone.utc)
    k = _key()
    signer_key = issuer.key if issuer else k
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.cert.subject if issuer else name)
         .public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False))
    if issuer:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    return Issued(k, b.sign(signer_key, hashes.SHA256()))


@dataclass
class CAHierarchy:
    """Root → intermediate → signers, like the government's specialised CA (demo names)."""

    root: Issued
    intermediate: Issued
    revoked: list[tuple[int, datetime]] = field(default_factory=list)

    @classmethod
    def create(cls, org: str = "Ban Cơ yếu Chính phủ (THỬ NGHIỆM)") -> "CAHierarchy":
        root = _ca(_name("CA gốc chuyên dùng Chính phủ (THỬ NGHIỆM)", org), None, 3650, 1)
        inter = _ca(_name("CA chuyên dùng Chính phủ cấp 2 (THỬ NGHIỆM)", org), root, 1825, 0)
        return cls(root, inter)

    def issue(self, full_name: str, organisation: str, title: str = "", place: str = "",
              not_before: datetime | None = None, not_after: datetime | None = None) -> Issued:
        now = datetime.now(timezone.utc)
        k = _key()
        cert = (x509.CertificateBuilder().subject_name(_name(full_name, organisation, title, place))
                .issuer_name(self.intermediate.cert.subject).public_key(k.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(not_before or now - timedelta(days=1))
                .not_valid_after(not_after or now + timedelta(days=730))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.intermediate.key.public_key()), critical=False)
                .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                    [x509.UniformResourceIdentifier(CRL_URL)], None, None, None)]), critical=False)
                .sign(self.intermediate.key, hashes.SHA256()))
        return Issued(k, cert)

    def revoke(self, issued: Issued, when: datetime | None = None) -> None:
        self.revoked.append((issued.cert.serial_number, when or datetime.now(timezone.utc) - timedelta(minutes=5)))

    def crl(self) -> bytes:
        """The intermediate CA's CRL (DER), listing what was revoked."""
        now = datetime.now(timezone.utc)
        b = (x509.CertificateRevocationListBuilder().issuer_name(self.intermediate.cert.subject)
             .last_update(now - timedelta(minutes=1)).next_update(now + timedelta(days=7))
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 self.intermediate.key.public_key()), critical=False)
             .add_extension(x509.CRLNumber(len(self.revoked) + 1), critical=False))
        for serial, when in self.revoked:
            b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial)
                                          .revocation_date(when).build())
        return b.sign(self.intermediate.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class SoftToken:
    """A SoftHSM2 token directory of its own. Call `activate()` before the PKCS#11 module is first
    loaded in the process: SoftHSM2 reads SOFTHSM2_CONF when it is initialised."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.tokens = self.folder / "tokens"
        self.conf = self.folder / "softhsm2.conf"
        self.module = softhsm_module()
        if self.module is None:
            raise RuntimeError("SoftHSM2 is not installed (Debian: apt-get install softhsm2)")
        self.tokens.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(f"directories.tokendir = {self.tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
                             "slots.removable = true\n", encoding="utf-8")

    def activate(self) -> None:
        os.environ["SOFTHSM2_CONF"] = str(self.conf)

    def _util(self, *args: str) -> None:
        env = dict(os.environ, SOFTHSM2_CONF=str(self.conf))
        subprocess.run(["softhsm2-util", *args], check=True, env=env, capture_output=True, timeout=60)

    def init_token(self, label: str, pin: str, so_pin: str = "87654321") -> None:
        self._util("--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin)

    def token_dirs(self) -> list[Path]:
        return [p for p in self.tokens.iterdir() if p.is_dir()]

    def remove_all_tokens(self) -> None:
        """What pulling the USB token out looks like to SoftHSM2 after a reinitialisation."""
        for p in self.token_dirs():
            shutil.rmtree(p)

    def store(self, label: str, pin: str, issued: Issued, object_label: str, key_id: bytes,
              chain: tuple[Issued, ...] = ()) -> None:
        """Put a private key and its certificate (and the CA certificates) on the token."""
        import pkcs11
        from pkcs11 import Attribute, CertificateType, ObjectClass
        from pkcs11.util.rsa import decode_rsa_private_key

        lib = pkcs11.lib(self.module)
        lib.reinitialize()
        token = lib.get_token(token_label=label)
        der_key = issued.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption())
        with token.open(user_pin=pin, rw=True) as s:
            attrs = decode_rsa_private_key(der_key)
            attrs.update({Attribute.TOKEN: True, Attribute.LABEL: object_label, Attribute.ID: key_id,
                          Attribute.SIGN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
                          Attribute.EXTRACTABLE: False})
            s.create_object(attrs)
            for i, c in enumerate((issued, *chain)):
                s.create_object({
                    Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True, Attribute.LABEL: object_label if i == 0 else f"CA {i}",
                    Attribute.ID: key_id if i == 0 else bytes([0xCA, i]), Attribute.VALUE: c.der,
                    Attribute.SUBJECT: c.cert.subject.public_bytes(),
                })
        lib.reinitialize()


def demo_token(folder: Path, pki: CAHierarchy, label: str, pin: str, full_name: str, organisation: str,
               title: str = "", place: str = "") -> Issued:
    """Initialise a token with a signer certificate issued by `pki` (the demo's head of unit)."""
    tok = SoftToken(folder)
    tok.activate()
    tok.init_token(label, pin)
    issued = pki.issue(full_name, organisation, title, place)
    tok.store(label, pin, issued, "ky-so", b"\x01", chain=(pki.intermediate,))
    return issued
