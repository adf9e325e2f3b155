"""Benchmark: bundle export and import+verify against the standard CLI tools, in one run.

    .venv/bin/python benchmarks/bench_bundle.py --mb 256      # the acceptance figure
    .venv/bin/python benchmarks/bench_bundle.py --mb 16       # quick look

Export, ours: ``write_bundle`` from attachment files on disk (hash, ZIP, sign, age-encrypt,
write ``.part``, fsync, read back + SHA-256, rename, fsync folder).
Export, CLI: ``minisign -S`` + ``age -r`` on the very same plaintext ZIP (decrypted from our
bundle, not timed) — the spec's baseline; also shown with an fsync of the output, which is what
our writer pays for durability.
Import, ours: ``open_bundle`` (size caps, decrypt, ZIP checks, signature, every SHA-256),
in memory; also shown with extraction into a staging folder.
Import, CLI: ``age -d`` + ``unzip`` + ``minisign -V`` + ``sha256sum -c`` on the same bundle
(``unzip`` is needed before ``sha256sum -c`` can run).

Each measurement is repeated (``--repeat``, default 3) and the median is reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyrage  # noqa: E402

from desktop.export.bundle import open_bundle, write_bundle  # noqa: E402
from desktop.export.keys import TrustedKey, UnitKeys  # noqa: E402


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _median_time(fn, repeat: int, cleanup=None) -> float:
    times = []
    for _ in range(repeat):
        if cleanup:
            cleanup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    if cleanup:
        cleanup()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=256, help="MiB of attachments (default 256)")
    ap.add_argument("--files", type=int, default=8, help="number of attachment files (default 8)")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions, median reported (default 3)")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp folder)")
    args = ap.parse_args(argv)

    for tool in ("age", "minisign", "unzip", "sha256sum"):
        if not shutil.which(tool):
            print(f"missing CLI tool: {tool}", file=sys.stderr)
            return 2

    work = Path(tempfile.mkdtemp(prefix="bench-bundle-", dir=args.dir))
    try:
        src, out, cli = work / "src", work / "out", work / "cli"
        for d in (src, out, cli):
            d.mkdir()
        total = args.mb * 1024 * 1024
        per = total // args.files
        files = []
        for i in range(args.files):
            p = src / f"att{i:02d}.bin"
            with open(p, "wb") as f:
                left = per if i < args.files - 1 else total - per * (args.files - 1)
                while left:
                    n = min(left, 8 * 1024 * 1024)
                    f.write(os.urandom(n))
                    left -= n
            files.append(p)

        sender, receiver = UnitKeys.generate("VKS-THA-KV1"), UnitKeys.generate("VKS-THA")
        trusted = {sender.key_id_hex: TrustedKey.from_public(sender.public())}
        (cli / "key.txt").write_text(receiver.age_identity_file())
        (cli / "sender.pub").write_text(sender.minisign_public_key_file())
        _run(["minisign", "-G", "-W", "-f", "-p", str(cli / "cli.pub"), "-s", str(cli / "cli.key")])
        data = {"report": {"targets": [{"code": f"MT{i:02d}", "done": i % 3 == 0} for i in range(1, 21)]}}

        def export() -> None:
            export.result = write_bundle(  # type: ignore[attr-defined]
                out, sender=sender, recipient=receiver.public(), kind="report", period="2025-Q1", seq=1,
                data=data, attachments=files,
            )

        def clean_out() -> None:
            for p in out.iterdir():
                p.unlink()

        # warm the page cache for both sides alike
        for p in files:
            with open(p, "rb") as f:
                while f.read(8 * 1024 * 1024):
                    pass

        t_ours_export = _median_time(export, args.repeat, clean_out)
        export()
        bundle_path: Path = export.result.path  # type: ignore[attr-defined]
        plain_zip = cli / "bundle.zip"
        pyrage.decrypt_file(str(bundle_path), str(plain_zip), [receiver.identity])

        def cli_export(fsync: bool) -> None:
            _run(["minisign", "-S", "-s", str(cli / "cli.key"), "-m", str(plain_zip), "-x", str(cli / "z.minisig")])
            _run(["age", "-r", receiver.age_recipient, "-o", str(cli / "z.age"), str(plain_zip)])
            if fsync:
                _fsync(cli / "z.age")

        def clean_cli() -> None:
            for n in ("z.minisig", "z.age"):
                (cli / n).unlink(missing_ok=True)

        t_cli_export = _median_time(lambda: cli_export(False), args.repeat, clean_cli)
        t_cli_export_sync = _median_time(lambda: cli_export(True), args.repeat, clean_cli)

        def ours_import() -> None:
            open_bundle(bundle_path, receiver, trusted)

        stage = work / "stage"

        def clean_stage() -> None:
            shutil.rmtree(stage, ignore_errors=True)
            stage.mkdir()

        t_ours_import = _median_time(ours_import, args.repeat)
        t_ours_import_x = _median_time(lambda: open_bundle(bundle_path, receiver, trusted, staging_dir=stage),
                                       args.repeat, clean_stage)  # fmt: skip

        xdir = cli / "x"

        def cli_import() -> None:
            _run(["age", "-d", "-i", str(cli / "key.txt"), "-o", str(cli / "x.zip"), str(bundle_path)])
            _run(["unzip", "-q", str(cli / "x.zip"), "-d", str(xdir)])
            _run(["minisign", "-V", "-q", "-p", str(cli / "sender.pub"), "-m", str(xdir / "manifest.json")])
            _run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=xdir)

        def clean_x() -> None:
            shutil.rmtree(xdir, ignore_errors=True)
            (cli / "x.zip").unlink(missing_ok=True)

        t_cli_import = _median_time(cli_import, args.repeat, clean_x)

        size = bundle_path.stat().st_size
        print(f"bundle: {args.mb} MiB of attachments in {args.files} files, .cdsb {size / 2**20:.1f} MiB, "
              f"median of {args.repeat}")  # fmt: skip
        print(f"{'':38s}{'seconds':>9s}{'MiB/s':>9s}")

        def row(label: str, t: float) -> None:
            print(f"{label:38s}{t:9.3f}{size / 2**20 / t:9.0f}")

        row("export, ours (write_bundle)", t_ours_export)
        row("export, minisign -S + age -r", t_cli_export)
        row("export, minisign -S + age -r + fsync", t_cli_export_sync)
        row("import, ours (open_bundle)", t_ours_import)
        row("import, ours + extract to staging", t_ours_import_x)
        row("import, age -d+unzip+minisign -V+sha256sum", t_cli_import)
        print(f"export ratio ours/CLI: {t_ours_export / t_cli_export:.2f}x "
              f"(vs CLI with fsync: {t_ours_export / t_cli_export_sync:.2f}x)  target <= 1.5x")  # fmt: skip
        print(f"import ratio ours/CLI: {t_ours_import / t_cli_import:.2f}x "
              f"(with extraction: {t_ours_import_x / t_cli_import:.2f}x)  target <= 1.5x")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
