"""Key slots: the database master key wrapped under passwords (like LUKS / KeePass).

The SQLCipher database is keyed with a random 256-bit master key that never leaves memory in
plain form. Each user account owns one slot: the master key encrypted with AES-256-GCM under a
key derived from the user's password with Argon2id. One extra slot is opened by the recovery
code printed at setup; that code is a random ~122-bit key, not a password, so its slot derives
its wrapping key with HKDF-SHA256 (`RecoveryKdf`; docs/security.md §7, "The recovery slot"); recovery
slots written before keep their Argon2id parameters and open with them. Changing a password
rewraps one slot; the database is never re-encrypted.

The slot file must be readable before unlock, so it lives beside the database in plain JSON. It
holds no user data: slot ids are salted hashes of the user name (a leak scan for a user name
finds nothing), and each slot is bound to the vault id and its own id through the GCM
associated data, so slots cannot be moved between vaults or swapped between users.

Slot version 2 (revision 0006) adds one indirection so the master key can be *replaced* without
anyone's password: the password unwraps the account's X25519 secret, and the master key is
sealed to the matching public key (ephemeral X25519 + HKDF + AES-GCM). Re-keying the database
(`reseal`) seals a new master key to every slot's public key. The file also carries a monotonic
`generation` and an HMAC under a key derived from the master key (rollback detection, see
desktop/models/storage/anchors.py); both are checked after unlock, never before.

This module must never import Qt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from desktop.fsutil import atomic_write_bytes

SLOT_FILE_FORMAT = "vks-cds-keyslots/1"
SLOT_V1, SLOT_V2 = 1, 2
MASTER_KEY_BYTES = 32
MIN_MEMORY_KIB = 64 * 1024  # the floor: >= 64 MiB
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read aloud


class SlotError(Exception):
    """Raised when a slot cannot be opened (wrong secret) or the slot file is unusable."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored per slot so each slot keeps the cost it was made with."""

    time_cost: int
    memory_kib: int
    parallelism: int
    salt: bytes

    def derive(self, secret: str) -> bytes:
        from argon2.low_level import Type, hash_secret_raw  # imported on first use: fast start-up

        return hash_secret_raw(
            secret=normalize_secret(secret).encode("utf-8"),
            salt=self.salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=32,
            type=Type.ID,
        )

    def with_new_salt(self) -> "KdfParams":
        return KdfParams(self.time_cost, self.memory_kib, self.parallelism, secrets.token_bytes(16))

    def to_json(self) -> dict:
        return {
            "alg": "argon2id",
            "t": self.time_cost,
            "m": self.memory_kib,
            "p": self.parallelism,
            "salt": _b64(self.salt),
        }

    @classmethod
    def from_json(cls, d: dict) -> "KdfParams":
        if d.get("alg") != "argon2id":
            raise SlotError("unsupported kdf")
        return cls(int(d["t"]), int(d["m"]), int(d["p"]), _unb64(d["salt"]))


@dataclass(frozen=True)
class RecoveryKdf:
    """HKDF-SHA256 for the recovery slot only: its secret is the generated recovery code, 25
    symbols of a 30-letter alphabet (log2(30^25) ≈ 122.7 bits), never a chosen password.

    A memory-hard KDF buys a password a constant factor against an offline guesser (roughly
    10^5, about 16 bits: one Argon2id run of 0.6 s against ~7 µs for this HKDF); a 122-bit
    random key is out of reach of brute force with or without it (~2^121.7 guesses on average),
    so the slot does not pay 0.6 s of CPU at every vault creation for it. The salt is random per
    slot and the info binds the purpose; password slots stay Argon2id (`KdfParams`)."""

    salt: bytes

    ALG = "hkdf-sha256"
    INFO = b"vks-cds-recovery-slot"

    @classmethod
    def new(cls) -> "RecoveryKdf":
        return cls(secrets.token_bytes(16))

    def derive(self, secret: str) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        return HKDF(algorithm=hashes.SHA256(), length=32, salt=self.salt,
                    info=self.INFO).derive(normalize_secret(secret).encode("utf-8"))

    def with_new_salt(self) -> "RecoveryKdf":
        return RecoveryKdf.new()

    def to_json(self) -> dict:
        return {"alg": self.ALG, "salt": _b64(self.salt)}


#: What derives a slot's wrapping key: Argon2id (passwords; recovery slots written before the
#: recovery KDF) or HKDF-SHA256 (recovery slots since).
SlotKdf = KdfParams | RecoveryKdf


def slot_kdf_from_json(d: dict) -> SlotKdf:
    if d.get("alg") == RecoveryKdf.ALG:
        return RecoveryKdf(_unb64(d["salt"]))
    return KdfParams.from_json(d)


def normalize_secret(secret: str) -> str:
    # The same password typed on two keyboards must derive the same key.
    return unicodedata.normalize("NFC", secret)


def normalize_username(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().casefold()


#: RFC 9106's second recommended option (and above OWASP's minimum): never fewer passes at 64 MiB.
MIN_TIME_COST = 3


def tune_kdf(target_seconds: float = 0.6, memory_kib: int = MIN_MEMORY_KIB, parallelism: int = 2,
             max_time_cost: int = 40) -> KdfParams:
    """Pick the Argon2id time cost so one derivation costs about `target_seconds` of CPU time on
    this PC (all lanes together), with at least MIN_TIME_COST passes over `memory_kib` (>= 64 MiB).

    Calibrated on CPU time (time.process_time, which counts Argon2's lane threads), not the wall
    clock: on a busy PC the wall clock of a probe can be many times its cost and the result used
    to spread 160–590 ms. The cost is linear in the passes (a + b·t), so two probe sizes suffice,
    each the least of three runs. With two lanes on an idle two-core PC an unlock then
    takes about 0.3–0.4 s of wall time; on one core about `target_seconds`.
    """
    memory_kib = max(memory_kib, MIN_MEMORY_KIB)
    salt = secrets.token_bytes(16)

    def cpu(t: int) -> float:
        params = KdfParams(t, memory_kib, parallelism, salt)
        c0 = time.process_time()
        params.derive("probe")
        return time.process_time() - c0

    cpu(1)  # warm-up: the arena's first page faults
    # Argon2 is memory-bound: on a busy PC other processes' memory traffic stalls it and the
    # stalls count as its CPU time too (one calibration chose t = 4, another t = 21 under load
    # 8-11). The cheapest of three interleaved probes is the PC's own speed.
    ones, threes = [], []
    for _ in range(3):
        ones.append(cpu(1))
        threes.append(cpu(3))
    t1, t3 = min(ones), min(threes)
    per_pass = max((t3 - t1) / 2, 1e-4)
    fixed = max(t1 - per_pass, 0.0)
    time_cost = round((target_seconds - fixed) / per_pass)
    return KdfParams(max(MIN_TIME_COST, min(max_time_cost, time_cost)), memory_kib, parallelism,
                     secrets.token_bytes(16))


def generate_master_key() -> bytearray:
    return bytearray(secrets.token_bytes(MASTER_KEY_BYTES))


def generate_recovery_code() -> str:
    """25 symbols of a 30-letter alphabet (~122 bits), in five groups of five."""
    chars = [secrets.choice(RECOVERY_ALPHABET) for _ in range(25)]
    return "-".join("".join(chars[i:i + 5]) for i in range(0, 25, 5))


def normalize_recovery_code(code: str) -> str:
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", code).upper() if ch.isalnum())
    cleaned = cleaned.replace("0", "O").replace("1", "I")
    return "-".join(cleaned[i:i + 5] for i in range(0, len(cleaned), 5))


@dataclass
class KeySlot:
    slot_id: str
    kind: str  # "user" or "recovery"
    kdf: SlotKdf  # RecoveryKdf only on a recovery slot (`put_keyed` refuses it elsewhere)
    nonce: bytes
    ciphertext: bytes
    created_at: float = field(default_factory=time.time)
    version: int = SLOT_V1
    public: bytes = b""  # v2: X25519 public key the master key is sealed to
    sealed: dict = field(default_factory=dict)  # v2: {"eph", "nonce", "ct"}

    def to_json(self) -> dict:
        d = {
            "id": self.slot_id,
            "kind": self.kind,
            "kdf": self.kdf.to_json(),
            "nonce": _b64(self.nonce),
            "ct": _b64(self.ciphertext),
            "created_at": int(self.created_at),
        }
        if self.version == SLOT_V2:
            d |= {"v": SLOT_V2, "pub": _b64(self.public), "sealed": dict(self.sealed)}
        return d

    @classmethod
    def from_json(cls, d: dict) -> "KeySlot":
        version = int(d.get("v", SLOT_V1))
        if version not in (SLOT_V1, SLOT_V2):
            raise SlotError("unknown slot version")
        return cls(
            slot_id=str(d["id"]),
            kind=str(d["kind"]),
            kdf=slot_kdf_from_json(d["kdf"]),
            nonce=_unb64(d["nonce"]),
            ciphertext=_unb64(d["ct"]),
            created_at=float(d.get("created_at", 0)),
            version=version,
            public=_unb64(d["pub"]) if version == SLOT_V2 else b"",
            sealed={k: str(d["sealed"][k]) for k in ("eph", "nonce", "ct")} if version == SLOT_V2 else {},
        )


class SlotFile:
    """The keyslots.json file: vault id, a salt for slot ids, and the slots."""

    def __init__(self, path: Path, vault_id: str, id_salt: bytes, slots: list[KeySlot],
                 generation: int = 0, mac: str | None = None):
        self.path = Path(path)
        self.vault_id = vault_id
        self.id_salt = id_salt
        self.slots = slots
        self.generation = generation
        self.pending: int | None = None  # a generation being committed to the database (two-phase)
        self.mac = mac  # as loaded; None for a file written before revision 0006
        self._mac_key: bytearray | None = None

    # --- construction / persistence -------------------------------------------------------
    @classmethod
    def new(cls, path: Path) -> "SlotFile":
        return cls(path, str(uuid.uuid4()), secrets.token_bytes(16), [])

    @classmethod
    def load(cls, path: Path) -> "SlotFile":
        try:
            raw = json.loads(Path(path).read_text("utf-8"))
            if raw.get("format") != SLOT_FILE_FORMAT:
                raise SlotError("unknown slot file format")
            loaded = cls(path, str(raw["vault_id"]), _unb64(raw["id_salt"]),
                         [KeySlot.from_json(s) for s in raw["slots"]],
                         int(raw.get("generation", 0)), raw.get("mac"))
            loaded.pending = int(raw["pending"]) if raw.get("pending") is not None else None
            return loaded
        except SlotError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SlotError(f"slot file unreadable: {type(exc).__name__}") from exc

    def _body(self) -> dict:
        return {
            "format": SLOT_FILE_FORMAT,
            "vault_id": self.vault_id,
            "id_salt": _b64(self.id_salt),
            "generation": self.generation,
            "slots": [s.to_json() for s in self.slots],
        } | ({"pending": self.pending} if self.pending is not None else {})

    def _compute_mac(self, mac_key: bytes | bytearray) -> str:
        canonical = json.dumps(self._body(), sort_keys=True, separators=(",", ":")).encode("utf-8")
        return hmac.new(bytes(mac_key), canonical, hashlib.sha256).hexdigest()

    def to_bytes(self) -> bytes:
        doc = self._body()
        if self._mac_key is not None:
            self.mac = self._compute_mac(self._mac_key)
        if self.mac is not None:
            doc["mac"] = self.mac
        return json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")

    def save(self) -> None:
        atomic_write_bytes(self.path, self.to_bytes())

    # --- authentication under the master key (revision 0006) ----------------------------------
    def bind_master(self, master_key: bytes | bytearray) -> None:
        """Authenticate every later save with an HMAC under a key derived from `master_key`."""
        wipe(self._mac_key)
        self._mac_key = bytearray(derive_subkey(master_key, b"keyslots-mac"))

    def unbind(self) -> None:
        wipe(self._mac_key)
        self._mac_key = None

    def mac_status(self, master_key: bytes | bytearray) -> bool | None:
        """True: the file as loaded is authentic under `master_key`; False: it is not; None: it
        predates authentication (no MAC)."""
        if self.mac is None:
            return None
        expected = self._compute_mac(derive_subkey(master_key, b"keyslots-mac"))
        return hmac.compare_digest(expected, str(self.mac))

    # --- slot operations -------------------------------------------------------------------
    def user_slot_id(self, username: str) -> str:
        digest = hmac.new(self.id_salt, b"user:" + normalize_username(username).encode("utf-8"),
                          hashlib.sha256).hexdigest()
        return "u-" + digest[:32]

    @property
    def recovery_slot_id(self) -> str:
        return "recovery"

    def find(self, slot_id: str) -> KeySlot | None:
        for s in self.slots:
            if s.slot_id == slot_id:
                return s
        return None

    def get(self, slot_id: str) -> KeySlot:
        """The slot `slot_id`, which the caller knows is there (it has just opened it)."""
        slot = self.find(slot_id)
        if slot is None:
            raise SlotError("no such slot")
        return slot

    def _aad(self, slot_id: str) -> bytes:
        return f"{SLOT_FILE_FORMAT}|{self.vault_id}|{slot_id}".encode("utf-8")

    def put(self, slot_id: str, kind: str, secret: str, master_key: bytes | bytearray,
            kdf: SlotKdf) -> KeySlot:
        """Create or replace the slot `slot_id` wrapping `master_key` under `secret`."""
        slot, account_secret = self.put_keyed(slot_id, kind, secret, master_key, kdf)
        wipe(account_secret)
        return slot

    def put_keyed(self, slot_id: str, kind: str, secret: str, master_key: bytes | bytearray,
                  kdf: SlotKdf) -> tuple[KeySlot, bytearray]:
        """`put` with a fresh account secret (version 2); returns the slot and that secret (the
        caller wipes it), from which personal keys are wrapped (desktop/models/services/insider.py).
        A password slot needs Argon2id: HKDF is for the generated recovery code only."""
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if isinstance(kdf, RecoveryKdf) and (kind != "recovery" or slot_id != self.recovery_slot_id):
            raise SlotError("hkdf is for the recovery slot only")
        params = kdf.with_new_salt()
        wrapping_key = bytearray(params.derive(secret))
        account = X25519PrivateKey.generate()
        account_secret = bytearray(account.private_bytes_raw())
        nonce = secrets.token_bytes(12)
        ct = AESGCM(bytes(wrapping_key)).encrypt(nonce, bytes(account_secret), self._aad(slot_id))
        wipe(wrapping_key)
        public = account.public_key().public_bytes_raw()
        slot = KeySlot(slot_id, kind, params, nonce, ct, version=SLOT_V2, public=public,
                       sealed=self._seal(slot_id, public, master_key))
        self.slots = [s for s in self.slots if s.slot_id != slot_id] + [slot]
        return slot, account_secret

    def _seal(self, slot_id: str, public: bytes, master_key: bytes | bytearray) -> dict:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes_raw()
        key = _seal_key(eph.exchange(X25519PublicKey.from_public_bytes(public)), eph_pub, public, self._aad(slot_id))
        nonce = secrets.token_bytes(12)
        ct = AESGCM(bytes(key)).encrypt(nonce, bytes(master_key), self._aad(slot_id))
        wipe(key)
        return {"eph": _b64(eph_pub), "nonce": _b64(nonce), "ct": _b64(ct)}

    def reseal(self, new_master: bytes | bytearray) -> list[str]:
        """Seal `new_master` to every version-2 slot (no password needed). Version-1 slots wrap
        the old key directly and cannot be converted without their secret: they are removed
        and their ids returned."""
        dropped = [s.slot_id for s in self.slots if s.version != SLOT_V2]
        self.slots = [s for s in self.slots if s.version == SLOT_V2]
        for s in self.slots:
            s.sealed = self._seal(s.slot_id, s.public, new_master)
        return dropped

    def remove(self, slot_id: str) -> bool:
        before = len(self.slots)
        self.slots = [s for s in self.slots if s.slot_id != slot_id]
        return len(self.slots) != before

    def open(self, slot_id: str, secret: str) -> bytearray:
        """Unwrap the master key from slot `slot_id`; SlotError when the secret is wrong.

        An unknown slot still pays for one Argon2id run so that timing does not tell which
        user names exist. The recovery slot's HKDF opens only the recovery slot.
        """
        slot = self.find(slot_id)
        if slot is None:
            self._refuse_unknown(secret)
        master, account_secret = self._open_slot(slot, secret)
        wipe(account_secret)
        return master

    def open_keyed(self, slot_id: str, secret: str) -> tuple[bytearray, bytearray | None]:
        """`open` that also returns the account secret of a version-2 slot (None for version 1);
        the caller wipes both. Same single key derivation as `open`."""
        slot = self.find(slot_id)
        if slot is None:
            self._refuse_unknown(secret)
        return self._open_slot(slot, secret)

    def password_kdf(self) -> KdfParams | None:
        """The Argon2id parameters of the first slot that has them (a password slot, or a
        recovery slot written before the recovery KDF); None when there is none."""
        return next((s.kdf for s in self.slots if isinstance(s.kdf, KdfParams)), None)

    def _refuse_unknown(self, secret: str) -> NoReturn:
        """An unknown slot pays for one Argon2id run, as a known user's would, then SlotError.
        The template is a password slot's, never the recovery slot's HKDF (which may come first
        once a password was changed): an unknown name must not answer faster than a known one."""
        template = self.password_kdf() or KdfParams(1, MIN_MEMORY_KIB, 2, b"\0" * 16)
        template.derive(secret)
        raise SlotError("no such slot")

    def _open_slot(self, slot: KeySlot, secret: str) -> tuple[bytearray, bytearray | None]:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if isinstance(slot.kdf, RecoveryKdf) and (slot.kind != "recovery" or slot.slot_id != self.recovery_slot_id):
            raise SlotError("hkdf on a password slot")  # never written so: a forged slot
        wrapping_key = bytearray(slot.kdf.derive(secret))
        aad = self._aad(slot.slot_id)
        try:
            plain = bytearray(AESGCM(bytes(wrapping_key)).decrypt(slot.nonce, slot.ciphertext, aad))
        except InvalidTag as exc:
            raise SlotError("wrong secret") from exc
        finally:
            wipe(wrapping_key)
        if slot.version == SLOT_V1:
            return plain, None
        try:
            account = X25519PrivateKey.from_private_bytes(bytes(plain))
            eph_pub = _unb64(slot.sealed["eph"])
            from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

            key = _seal_key(account.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub, slot.public, aad)
            try:
                master = bytearray(AESGCM(bytes(key)).decrypt(_unb64(slot.sealed["nonce"]), _unb64(slot.sealed["ct"]), aad))
            finally:
                wipe(key)
        except (InvalidTag, ValueError, KeyError) as exc:
            wipe(plain)
            raise SlotError("sealed master key does not open") from exc
        return master, plain


def _seal_key(shared: bytes, eph_pub: bytes, public: bytes, aad: bytes) -> bytearray:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return bytearray(HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + public,
                          info=b"vks-cds-slot-seal|" + aad).derive(shared))


def derive_subkey(master_key: bytes | bytearray, purpose: bytes) -> bytes:
    """A key for one purpose (audit MAC, slot-file MAC, anchors) derived from the master key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"vks-cds/0006",
                info=b"vks-cds-subkey|" + purpose).derive(bytes(master_key))


def wipe(buf: bytearray | None) -> None:
    """Overwrite a key buffer in place (best effort: Python may hold other copies briefly)."""
    if buf is None:
        return
    for i in range(len(buf)):
        buf[i] = 0


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"), validate=True)


def random_id() -> str:
    return os.urandom(8).hex()
