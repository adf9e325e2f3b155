"""Interop with the standard tools, both ways:

* a bundle we write is decrypted by the real ``age -d -i``, unpacked by ``unzip``, its manifest
  verified by the real ``minisign -V`` (-p file and -P string) and its members by ``sha256sum -c``;
* a bundle made entirely with the tools — key from ``minisign -G -W``, manifest signed by
  ``minisign -S``, archive from Info-ZIP ``zip``, encrypted by ``age -r`` to a recipient from
  ``age-keygen`` — is accepted by our reader once the key is trusted, and refused before.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from bundle_helpers import RECIPIENT_UNIT, keys, sha, sums_for

from desktop.export.bundle import BundleRejected, open_bundle, trusted_comment_for, write_bundle
from desktop.export.keys import TrustedKey, UnitKeys

CORE = ("age", "age-keygen", "minisign", "sha256sum")  # what the interop claim is about
missing = [t for t in CORE if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"CLI tools not installed: {', '.join(missing)}")
HAVE_INFOZIP = shutil.which("zip") is not None and shutil.which("unzip") is not None
needs_infozip = pytest.mark.skipif(not HAVE_INFOZIP, reason="Info-ZIP zip/unzip not installed")


def unzip_into(archive: Path, dest: Path) -> None:
    """Info-ZIP unzip when present (the documented command), else Python's zipfile."""
    if shutil.which("unzip"):
        run("unzip", "-q", str(archive), cwd=dest)
    else:
        import zipfile

        zipfile.ZipFile(archive).extractall(dest)


def run(*cmd: str, cwd: Path | None = None, input: str | None = None) -> str:
    r = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, input=input, timeout=60)
    assert r.returncode == 0, f"{cmd}: {r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def our_bundle(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("ours")
    inbox = d / "inbox"
    inbox.mkdir()
    att = d / "bien-ban.pdf"
    att.write_bytes(b"%PDF-1.7\n" + os.urandom(200_000))
    w = write_bundle(inbox, sender=keys("sender"), recipient=keys("recipient").public(), kind="report",
                     period="2025-H1", seq=4, prev_sha256="c" * 64, plan_id="vkstc-cds-2024", plan_version=1,
                     data={"report": {"muc_tieu": "MT01", "ket_qua": "Đã hoàn thành"}, "tasks": [1, 2, 3]},
                     attachments=[att, b"\x89PNG\r\n\x1a\n" + os.urandom(5000)],
                     report_pdf=b"%PDF-1.4\n% bao cao\n")  # fmt: skip
    (d / "key.txt").write_text(keys("recipient").age_identity_file())
    (d / "sender.pub").write_text(keys("sender").minisign_public_key_file())
    return {"dir": d, "written": w}


def test_age_cli_decrypts_and_tools_verify(our_bundle) -> None:
    d, w = our_bundle["dir"], our_bundle["written"]
    run("age", "-d", "-i", str(d / "key.txt"), "-o", str(d / "f.zip"), str(w.path))
    x = d / "x"
    x.mkdir()
    unzip_into(d / "f.zip", x)
    if shutil.which("unzip"):
        run("unzip", "-tq", str(d / "f.zip"))  # CRCs per Info-ZIP
    out = run("minisign", "-V", "-p", str(d / "sender.pub"), "-m", "manifest.json", cwd=x)
    assert "Signature and comment signature verified" in out
    assert f"Trusted comment: {trusted_comment_for(w.manifest)}" in out
    pk = keys("sender").public().minisign_public_key
    run("minisign", "-V", "-P", pk, "-m", "manifest.json", cwd=x)
    out = run("sha256sum", "-c", "--strict", "SHA256SUMS", cwd=x)
    assert out.count(": OK") == len(w.manifest["members"]) - 1
    # the documented one-liner tying SHA256SUMS to the signed manifest
    run("sh", "-c", 'grep -qF "$(sha256sum SHA256SUMS | cut -c1-64)" manifest.json', cwd=x)
    files = sorted(str(p.relative_to(x)) for p in x.rglob("*") if p.is_file())
    assert files == sorted([e["path"] for e in w.manifest["members"]] + ["manifest.json", "manifest.json.minisig"])


def test_tampering_is_seen_by_the_tools_too(our_bundle) -> None:
    d = our_bundle["dir"]
    x = d / "tampered"
    x.mkdir()
    run("age", "-d", "-i", str(d / "key.txt"), "-o", str(d / "t.zip"), str(our_bundle["written"].path))
    unzip_into(d / "t.zip", x)
    m = (x / "manifest.json").read_bytes()
    (x / "manifest.json").write_bytes(m.replace(b'"seq": 4', b'"seq": 5'))
    r = subprocess.run(["minisign", "-V", "-p", str(d / "sender.pub"), "-m", "manifest.json"], cwd=x, capture_output=True)
    assert r.returncode != 0
    report = x / "report.pdf"
    report.write_bytes(report.read_bytes() + b"x")
    r = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=x, capture_output=True)
    assert r.returncode != 0


def test_age_cli_encrypts_to_our_recipient_string(tmp_path: Path) -> None:
    """Our exported age recipient works with ``age -r``, and our identity string with ``age -d -i``."""
    (tmp_path / "p.txt").write_text("xin chào")
    run("age", "-r", keys("recipient").age_recipient, "-o", str(tmp_path / "p.age"), str(tmp_path / "p.txt"))
    (tmp_path / "k.txt").write_text(keys("recipient").age_identity_str() + "\n")
    assert run("age", "-d", "-i", str(tmp_path / "k.txt"), str(tmp_path / "p.age")) == "xin chào"


def _cli_bundle(tmp_path: Path, zip_flags: list[str], tool_key: dict) -> tuple[bytes, dict]:
    """Everything by the CLI tools; only the JSON text is written by Python."""
    src = tmp_path / "src"
    (src / "data").mkdir(parents=True)
    (src / "attachments").mkdir()
    files = {
        "data/report.json": json.dumps({"muc_tieu": ["MT01", "MT02"], "ghi_chu": "Báo cáo quý"}, ensure_ascii=False).encode(),
        "report.pdf": b"%PDF-1.4\n% made by hand\n",
    }
    att = b"%PDF-1.5 scanned minutes " + os.urandom(50_000)
    files[f"attachments/{sha(att)}"] = att
    for p, b in files.items():
        (src / p).write_bytes(b)
    (src / "SHA256SUMS").write_text(run("sh", "-c", "sha256sum " + " ".join(sorted(files)), cwd=src))
    assert (src / "SHA256SUMS").read_bytes() == sums_for(files)
    all_files = {**files, "SHA256SUMS": (src / "SHA256SUMS").read_bytes()}
    manifest = {
        "format": "vks-cds-bundle", "format_version": 1,
        "bundle_id": "5f0c9a1e-2b3c-4d5e-8f70-8192a3b4c5d6", "kind": "report",
        "sender_unit": "VKS-KV3-THA", "sender_key_id": tool_key["id"], "recipient_unit": RECIPIENT_UNIT,
        "plan_id": "thanhhoa-cds-2025", "plan_version": 1, "period": "2025-03", "seq": 1, "prev_sha256": None,
        "created_at": "2025-04-02T01:02:03Z", "app_version": "cli-handmade",
        "members": [{"path": p, "size": len(all_files[p]), "sha256": sha(all_files[p])} for p in sorted(all_files)],
    }  # fmt: skip
    (src / "manifest.json").write_text(json.dumps(manifest, indent=1))
    run("minisign", "-S", "-s", tool_key["sec"], "-m", "manifest.json", "-t", trusted_comment_for(manifest), cwd=src)
    names = ["manifest.json", "manifest.json.minisig", "SHA256SUMS", *sorted(files)]
    if zip_flags == ["python-zipfile"]:
        import zipfile

        with zipfile.ZipFile(tmp_path / "b.zip", "w", zipfile.ZIP_DEFLATED) as z:
            for n in names:
                z.write(src / n, n)
    else:
        run("zip", *zip_flags, "-q", "-r", str(tmp_path / "b.zip"), "manifest.json", "manifest.json.minisig",
            "SHA256SUMS", "data", "attachments", "report.pdf", cwd=src)  # fmt: skip
    run("age", "-r", tool_key["age_recipient"], "-o", str(tmp_path / "b.cdsb"), str(tmp_path / "b.zip"))
    return (tmp_path / "b.cdsb").read_bytes(), manifest


@pytest.fixture(scope="module")
def tool_key(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("cli-keys")
    run("minisign", "-G", "-W", "-f", "-p", str(d / "k.pub"), "-s", str(d / "k.sec"))
    pub = (d / "k.pub").read_text()
    key_id = pub.split("\n")[0].rsplit(" ", 1)[1].zfill(16)  # minisign's comment drops leading zeros
    run("age-keygen", "-o", str(d / "age.txt"))
    age_text = (d / "age.txt").read_text()
    recipient = next(ln.split(": ")[1] for ln in age_text.splitlines() if ln.startswith("# public key"))
    identity = next(ln for ln in age_text.splitlines() if ln.startswith("AGE-SECRET-KEY-1"))
    return {"pub": pub, "sec": str(d / "k.sec"), "id": key_id, "age_recipient": recipient, "identity": identity}


@pytest.mark.parametrize(
    "zip_flags",
    [pytest.param(["-X", "-D"], marks=needs_infozip), pytest.param(["-D"], marks=needs_infozip), ["python-zipfile"]],
    ids=["zip-X-D", "zip-D-with-extra-fields", "python-zipfile"],
)
def test_tool_made_bundle_is_accepted_when_trusted(tmp_path: Path, tool_key: dict, zip_flags: list[str]) -> None:
    blob, manifest = _cli_bundle(tmp_path, zip_flags, tool_key)
    trusted = TrustedKey.from_minisign(tool_key["pub"], "VKS-KV3-THA")
    assert trusted.key_id_hex == tool_key["id"]
    b = open_bundle(blob, tool_key["identity"], {trusted.key_id_hex: trusted}, expected_recipient=RECIPIENT_UNIT)
    assert b.manifest == manifest
    assert b.data("report")["ghi_chu"] == "Báo cáo quý"
    stage = tmp_path / "stage"
    stage.mkdir()
    b.extract_to(stage)
    assert (stage / "report.pdf").read_bytes() == b"%PDF-1.4\n% made by hand\n"
    # the same bundle, key not trusted / trusted for another unit / revoked
    for store, reason in [({}, "key_unknown"),
                          ({trusted.key_id_hex: TrustedKey.from_minisign(tool_key["pub"], "VKS-KV4-THA")}, "key_wrong_unit"),
                          ({trusted.key_id_hex: TrustedKey.from_minisign(tool_key["pub"], "VKS-KV3-THA", revoked=True)}, "key_revoked")]:  # fmt: skip
        with pytest.raises(BundleRejected) as ei:
            open_bundle(blob, tool_key["identity"], store)
        assert ei.value.reason == reason
    with pytest.raises(BundleRejected) as ei:
        open_bundle(blob, keys("recipient"), {trusted.key_id_hex: trusted})
    assert ei.value.reason == "not_for_us"


def test_real_minisign_signature_over_tampered_manifest_is_rejected(tmp_path: Path, tool_key: dict) -> None:
    _, manifest = _cli_bundle(tmp_path, ["python-zipfile"], tool_key)
    src = tmp_path / "src"
    m = (src / "manifest.json").read_text().replace('"seq": 1', '"seq": 1 ')
    (src / "manifest.json").write_text(m)  # same meaning, different bytes: the signature breaks
    (tmp_path / "b.zip").unlink()
    import zipfile

    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:
        first = [src / "manifest.json", src / "manifest.json.minisig"]  # the format's required order
        for p in first + sorted(q for q in src.rglob("*") if q.is_file() and q not in first):
            z.write(p, p.relative_to(src).as_posix())
    run("age", "-r", tool_key["age_recipient"], "-o", str(tmp_path / "t.cdsb"), str(tmp_path / "b.zip"))
    trusted = TrustedKey.from_minisign(tool_key["pub"], "VKS-KV3-THA")
    with pytest.raises(BundleRejected) as ei:
        open_bundle((tmp_path / "t.cdsb").read_bytes(), tool_key["identity"], [trusted])
    assert ei.value.reason == "signature_invalid"


@needs_infozip
def test_zip_cli_directory_entries_are_rejected(tmp_path: Path, tool_key: dict) -> None:
    """Without -D Info-ZIP stores 'data/' entries: we reject rather than ignore them (documented)."""
    blob, _ = _cli_bundle(tmp_path, ["-X"], tool_key)
    trusted = TrustedKey.from_minisign(tool_key["pub"], "VKS-KV3-THA")
    with pytest.raises(BundleRejected) as ei:
        open_bundle(blob, tool_key["identity"], [trusted])
    assert ei.value.reason == "member_not_regular"


def test_our_public_key_exports_round_trip_through_tools(tmp_path: Path) -> None:
    """Sign with our code, verify with minisign; sign with minisign, verify with our code."""
    k = UnitKeys.generate("VKS-THA")
    (tmp_path / "m.txt").write_bytes(b"noi dung")
    (tmp_path / "m.txt.minisig").write_text(k.sign_minisign(b"noi dung", "vks test"))
    (tmp_path / "k.pub").write_text(k.minisign_public_key_file())
    assert "Trusted comment: vks test" in run("minisign", "-V", "-p", "k.pub", "-m", "m.txt", cwd=tmp_path)
    run("minisign", "-V", "-P", k.public().minisign_public_key, "-m", "m.txt", cwd=tmp_path)
