"""`vks-cds selftest`: prove on this PC that the encrypted store works (and, with a display or
offscreen, that the main window opens). Exit 0 when every step passes."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path


def _step(name: str, fn) -> bool:
    t0 = time.perf_counter()
    try:
        detail = fn()
    except Exception as exc:  # report every failing step, never a traceback
        print(f"[LỖI] {name}: {type(exc).__name__}: {exc}")
        return False
    print(f"[ĐẠT] {name} ({(time.perf_counter() - t0) * 1000:.0f} ms){': ' + detail if detail else ''}")
    return True


def run_selftest(gui: bool = False) -> int:
    from desktop.models.storage.db import Database, raw_connect, upgrade
    from desktop.models.storage.keyslots import generate_master_key, wipe

    tmp = Path(tempfile.mkdtemp(prefix="vks-cds-selftest-"))
    marker = "KIEM-TRA-MA-HOA-" + str(time.time_ns())
    key = generate_master_key()
    ok = True
    try:
        path = tmp / "selftest.db"

        def write_read():
            db = Database(path, key)
            try:
                upgrade(db)
                from desktop.models.storage.schema import Setting

                with db.session() as s:
                    s.add(Setting(key="selftest", value=f'"{marker}"'))
                with db.session() as s:
                    assert s.get(Setting, "selftest").value == f'"{marker}"'
                problems = db.integrity_problems()
                assert not problems, problems
            finally:
                db.close()
            return "SQLCipher " + raw_connect(path, key).execute("PRAGMA cipher_version").fetchone()[0]

        ok &= _step("Cơ sở dữ liệu mã hóa: ghi, đọc, kiểm tra toàn vẹn", write_read)

        def no_plaintext():
            for f in tmp.iterdir():
                if marker.encode() in f.read_bytes():
                    raise AssertionError(f"bản rõ trong {f.name}")
            return ""

        ok &= _step("Không có bản rõ trên đĩa", no_plaintext)

        def wrong_key():
            import sqlcipher3

            conn = raw_connect(path, bytes(32))
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlcipher3.DatabaseError:
                return ""
            finally:
                conn.close()
            raise AssertionError("khóa sai vẫn mở được")

        ok &= _step("Khóa sai bị từ chối", wrong_key)

        def pdf():
            import io

            from desktop.export.documents import RecoverySheetDoc
            from desktop.export.pdf import render_recovery_sheet
            from datetime import date

            buf = io.BytesIO()
            render_recovery_sheet(RecoverySheetDoc(unit_name="Đơn vị kiểm tra", unit_code="KT", created=date.today(),
                                                   recovery_code="ABCDE-FGHJK-MNPQR-STVWX-YZ234"), buf)
            assert buf.getvalue().startswith(b"%PDF")
            return f"{len(buf.getvalue())} byte"

        ok &= _step("Tạo PDF (ReportLab, phông Liberation Serif)", pdf)

        def bundle():
            from desktop.export.bundle import check_stream, open_bundle, write_bundle
            from desktop.export.keys import TrustedKey, UnitKeys

            sender, recipient = UnitKeys.generate("KT-GUI"), UnitKeys.generate("KT-NHAN")
            folder = tmp / "bundle"
            folder.mkdir()
            w = write_bundle(folder, sender=sender, recipient=recipient.public(), kind="receipt", period="2025",
                             seq=1, data={"kiem_tra": {"noi_dung": marker}})
            trusted = [TrustedKey.from_public(sender.public())]
            b = open_bundle(w.path, recipient, trusted, expected_recipient="KT-NHAN")
            assert b.data("kiem_tra") == {"noi_dung": marker} and check_stream(b.manifest, None, None) == "apply"
            assert marker.encode() not in w.path.read_bytes()
            return f"{w.size} byte, khóa {sender.fingerprint}"

        ok &= _step("Ký và xác minh gói tin", bundle)

        def pades_sign():
            import io

            import pkcs11._pkcs11  # noqa: F401  - the PKCS#11 binding the USB token goes through
            from asn1crypto import x509 as ax509
            from cryptography.hazmat.primitives import serialization
            from pyhanko.keys import load_private_key_from_pemder_data
            from pyhanko.sign import signers
            from pyhanko_certvalidator.registry import SimpleCertificateStore

            from desktop.devtoken import CAHierarchy
            from desktop.export.documents import RecoverySheetDoc
            from desktop.export.pdf import pades, render_recovery_sheet
            from datetime import date, datetime

            buf = io.BytesIO()
            render_recovery_sheet(RecoverySheetDoc(unit_name="Đơn vị kiểm tra", unit_code="KT", created=date.today(),
                                                   recovery_code="ABCDE-FGHJK-MNPQR-STVWX-YZ234"), buf)
            pki = CAHierarchy.create()
            who = pki.issue("Người ký kiểm tra", "Đơn vị kiểm tra")
            key = load_private_key_from_pemder_data(who.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), None)
            signer = signers.SimpleSigner(ax509.Certificate.load(who.der), key, SimpleCertificateStore.from_certs(
                [ax509.Certificate.load(pki.intermediate.der)]))
            box = pades.Rect(300, 100, 300 + pades.SIGNER_WIDTH, 170)
            out = pades.sign_pdf(buf.getvalue(), signer, pades.Placement(
                pades.FIELD_SIGNER, 0, box, pades.signer_appearance(box.x2 - box.x1, box.y2 - box.y1,
                                                                   "Người ký kiểm tra", datetime.now())))
            [c] = pades.check_signatures(out, [pki.root.der], [pki.intermediate.der])
            assert out.startswith(buf.getvalue()) and c.verdict is pades.Verdict.VALID, c.verdict
            return f"{len(out)} byte"

        ok &= _step("Ký số PAdES (pyHanko) và thư viện PKCS#11", pades_sign)

        if gui:
            def window():
                from PySide6.QtWidgets import QApplication, QLabel

                app = QApplication.instance() or QApplication(sys.argv[:1])
                w = QLabel("VKS CĐS")
                w.show()
                app.processEvents()
                w.close()
                return app.platformName()

            ok &= _step("Mở cửa sổ Qt", window)
    finally:
        wipe(key)
        shutil.rmtree(tmp, ignore_errors=True)
    print("KẾT QUẢ: " + ("ĐẠT" if ok else "KHÔNG ĐẠT"))
    return 0 if ok else 1
