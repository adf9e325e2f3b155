"""Power-cut states in the spirit of ALICE (Pillai et al., "All File Systems Are Not Created Equal",
OSDI 2014): record the file-system calls of a real run, then build the states a file system may
legally leave after a power cut at any point, and hand each one to the recovery checks.

Recording: the crash worker runs as its own interpreter under `strace -f -xx -y` (every byte
written, every path, in order). `shutil` is told not to use sendfile there, so copies appear as
ordinary writes. The calls kept are those on files under the run's folder: open/create/truncate,
write/pwrite, ftruncate, fsync/fdatasync (of files and of directories), rename, unlink, mkdir,
rmdir, plus the worker's acknowledgement lines on stdout (an "ack" is written only after the
service call returned, i.e. after the commit the user was told about).

The persistence model (weaker than ext4's data=ordered, as ALICE's abstract model):

* a write/truncate of a file is durable once that file is fsynced later;
* a directory entry change (create, rename, unlink, mkdir) is durable once that directory is
  fsynced later (both directories for a rename);
* anything not yet durable at the cut may be lost, independently of later operations
  (reordering), and a write may be torn (only its first sectors persisted).

For each cut point k (after the k-th recorded call) the states are: everything issued so far
persisted; only what was durable; each non-durable call lost alone; the last non-durable write
torn at half (rounded down to 512 bytes). SQLite's `-shm` index is memory mapped and rebuilt on
open, so it is left out (as after a reboot it is meaningless); the app's log files are left out
(not acknowledged data). Identical states are checked once.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

STRACE_CALLS = ("openat,open,creat,write,pwrite64,writev,pwritev,lseek,ftruncate,fsync,fdatasync,rename,renameat,"
                "renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir,close,dup,dup2,dup3,fcntl,sendfile,copy_file_range")
_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-f]+)(?:<([^>]*)>)?")
_HEX = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')
_FD = re.compile(r"^(-?\d+|AT_FDCWD)(?:<([^>]*)>)?")


def _unhex(s: str) -> bytes:
    return bytes.fromhex(s.replace("\\x", ""))


@dataclass
class Op:
    kind: str               # data, trunc, create, unlink, rename, mkdir, rmdir, fsync, dirsync, ack
    ino: int = -1
    path: str = ""
    path2: str = ""
    offset: int = 0
    data: bytes = b""
    size: int = 0
    text: str = ""

    @property
    def dirs(self) -> tuple[str, ...]:
        if self.kind == "rename":
            return (os.path.dirname(self.path), os.path.dirname(self.path2))
        return (os.path.dirname(self.path),)


@dataclass
class Trace:
    root: str
    ops: list[Op]
    initial: dict[str, int]          # path -> inode at the start
    initial_dirs: set[str]
    initial_files: dict[int, str]    # inode -> file in the template it was read from
    unsupported: list[str] = field(default_factory=list)


def _excluded(path: str) -> bool:
    return path.endswith("-shm") or "/logs/" in path or path.endswith("/logs")


CONFIG_DIR = "config"  # the OS user's configuration folder, inside the recorded root


@contextmanager
def state_config(state: Path):
    """Verify a crash state with the anchors that state holds (see `record`)."""
    saved = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME", "APPDATA")}
    os.environ["XDG_CONFIG_HOME"] = os.environ["APPDATA"] = str(Path(state) / CONFIG_DIR)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def record(root: Path, op: str, worker: Path, trace_file: Path, repo: Path) -> Trace:
    """Run `worker root op` under strace; return the calls on files under `root`."""
    root = Path(root).resolve()
    initial, dirs, files = {}, {str(root)}, {}
    ino = 0
    for p in sorted(root.rglob("*")):
        if p.is_dir():
            dirs.add(str(p))
        elif p.is_file() and not _excluded(str(p)):
            ino += 1
            initial[str(p)] = ino
            files[ino] = str(p)
    snapshot = Path(str(trace_file) + ".template")
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(root, snapshot)  # the inodes' original contents, untouched by the run
    files = {i: str(snapshot / Path(p).relative_to(root)) for i, p in files.items()}
    # The rollback anchors (issue 17) live in the OS user's configuration folder: keep it inside the
    # traced tree so each crash state carries the anchor file as the cut left it.
    env = {**os.environ, "VKS_NO_SENDFILE": "1", "PYTHONPATH": str(repo), "QT_QPA_PLATFORM": "offscreen",
           "XDG_CONFIG_HOME": str(root / CONFIG_DIR), "APPDATA": str(root / CONFIG_DIR)}
    proc = subprocess.run(["strace", "-f", "-qq", "-xx", "-s", "67108864", "-y", "-e", f"trace={STRACE_CALLS}",
                           "-o", str(trace_file), sys.executable, str(worker), str(root), op],
                          capture_output=True, env=env, cwd=str(repo), timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"traced worker failed: {proc.stderr.decode('utf-8', 'replace')[-2000:]}")
    return parse(trace_file, root, initial, dirs, files, next_ino=ino + 1)


def parse(trace_file: Path, root: Path, initial: dict, dirs: set, files: dict, next_ino: int) -> Trace:
    root_s = str(Path(root).resolve())
    under = lambda p: p == root_s or p.startswith(root_s + "/")  # noqa: E731
    ns = dict(initial)
    live_dirs = set(dirs)
    sizes = {i: os.path.getsize(f) for i, f in files.items()}
    fds: dict[int, list] = {}   # fd -> [ino or None (dir), path, offset, append]
    ops: list[Op] = []
    unsupported: list[str] = []
    stdout_buf = b""
    pending: dict[str, str] = {}
    ino_counter = [next_ino]

    def new_ino() -> int:
        ino_counter[0] += 1
        return ino_counter[0]

    with open(trace_file, "r", encoding="ascii", errors="replace") as fh:
        for raw in fh:
            raw = raw.rstrip("\n")
            pid = raw.split(" ", 1)[0]
            if raw.endswith("<unfinished ...>"):
                pending[pid] = raw[: -len("<unfinished ...>")].rstrip()
                continue
            m = re.match(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$", raw)
            if m:
                raw = pending.pop(m.group(1), m.group(1) + " ?(") + m.group(2)
            m = _LINE.match(raw)
            if not m:
                continue
            call, args, ret = m.group(2), m.group(3), m.group(4)
            try:
                ret_i = int(ret, 0)
            except ValueError:
                continue
            if ret_i < 0:
                continue
            strings = [_unhex(x) for x in _HEX.findall(args)]
            fdm = _FD.match(args)
            fd = int(fdm.group(1)) if fdm and fdm.group(1) != "AT_FDCWD" else None
            fd_path = _unhex(fdm.group(2)).decode("utf-8", "replace") if fdm and fdm.group(2) else ""

            def resolve(s: bytes, base: str = "") -> str:
                p = s.decode("utf-8", "surrogateescape")
                return os.path.normpath(p if p.startswith("/") else os.path.join(base or os.getcwd(), p))

            if call in ("openat", "open", "creat"):
                ret_path = _unhex(m.group(5)).decode("utf-8", "replace") if m.group(5) else ""
                if not under(ret_path) or _excluded(ret_path):
                    continue
                flags = args.split(",")[2 if call == "openat" else 1] if call != "creat" else "O_CREAT|O_TRUNC"
                if ret_path in live_dirs or "O_DIRECTORY" in flags:
                    fds[ret_i] = [None, ret_path, 0, False]
                    continue
                if ret_path not in ns:
                    i = new_ino()
                    ns[ret_path] = i
                    sizes[i] = 0
                    ops.append(Op("create", ino=i, path=ret_path))
                elif "O_TRUNC" in flags:
                    ops.append(Op("trunc", ino=ns[ret_path], size=0))
                    sizes[ns[ret_path]] = 0
                fds[ret_i] = [ns[ret_path], ret_path, 0, "O_APPEND" in flags]
            elif call in ("write", "pwrite64"):
                if fd == 1 and call == "write":
                    stdout_buf += strings[0][:ret_i] if strings else b""
                    while b"\n" in stdout_buf:
                        line, stdout_buf = stdout_buf.split(b"\n", 1)
                        ops.append(Op("ack", text=line.decode("utf-8", "replace")))
                    continue
                ent = fds.get(fd)
                if ent is None or ent[0] is None or not strings:
                    if under(fd_path) and not _excluded(fd_path) and ent is None:
                        unsupported.append(f"write to untracked fd {fd_path}")
                    continue
                data = strings[0][:ret_i]
                if call == "pwrite64":
                    off = int(args.rsplit(",", 1)[1])
                else:
                    off = sizes[ent[0]] if ent[3] else ent[2]
                    ent[2] = off + len(data)
                ops.append(Op("data", ino=ent[0], path=ent[1], offset=off, data=data))
                sizes[ent[0]] = max(sizes[ent[0]], off + len(data))
            elif call in ("writev", "pwritev", "sendfile", "copy_file_range"):
                if fd in fds or under(fd_path):
                    unsupported.append(f"{call} on {fd_path}")
            elif call == "lseek":
                if fd in fds:
                    fds[fd][2] = ret_i
            elif call == "ftruncate":
                ent = fds.get(fd)
                if ent and ent[0] is not None:
                    n = int(args.rsplit(",", 1)[1])
                    ops.append(Op("trunc", ino=ent[0], size=n))
                    sizes[ent[0]] = n
            elif call in ("fsync", "fdatasync"):
                ent = fds.get(fd)
                if ent is None:
                    continue
                ops.append(Op("dirsync", path=ent[1]) if ent[0] is None else Op("fsync", ino=ent[0], path=ent[1]))
            elif call in ("rename", "renameat", "renameat2"):
                if call == "rename":
                    src, dst = resolve(strings[0]), resolve(strings[1])
                else:
                    parts = args.split(", ")
                    d1 = _FD.match(parts[0]).group(2)
                    d2 = _FD.match(parts[2]).group(2)
                    src = resolve(strings[0], _unhex(d1).decode() if d1 else "")
                    dst = resolve(strings[1], _unhex(d2).decode() if d2 else "")
                if not under(src) or _excluded(src):
                    continue
                if src in ns:
                    ns[dst] = ns.pop(src)
                    ops.append(Op("rename", path=src, path2=dst))
            elif call in ("unlink", "unlinkat"):
                base = fd_path if call == "unlinkat" else ""
                p = resolve(strings[0], base)
                if not under(p) or _excluded(p):
                    continue
                if call == "unlinkat" and "AT_REMOVEDIR" in args:
                    live_dirs.discard(p)
                    ops.append(Op("rmdir", path=p))
                elif p in ns:
                    del ns[p]
                    ops.append(Op("unlink", path=p))
            elif call in ("mkdir", "mkdirat"):
                p = resolve(strings[0], fd_path if call == "mkdirat" else "")
                if under(p) and not _excluded(p):
                    live_dirs.add(p)
                    ops.append(Op("mkdir", path=p))
            elif call == "rmdir":
                p = resolve(strings[0])
                if under(p):
                    live_dirs.discard(p)
                    ops.append(Op("rmdir", path=p))
            elif call == "close":
                fds.pop(fd, None)
            elif call in ("dup", "dup2", "dup3") or (call == "fcntl" and "F_DUPFD" in args):
                if fd in fds:
                    fds[ret_i] = fds[fd]
    return Trace(root_s, ops, initial, set(dirs), files, unsupported)


# ------------------------------------------------------------------ crash states
def durable_mask(ops: list[Op], k: int) -> list[bool]:
    """Which of ops[0..k] are durable at a cut after op k."""
    synced_files: set[int] = set()
    synced_dirs: set[str] = set()
    out = [False] * (k + 1)
    for i in range(k, -1, -1):
        op = ops[i]
        if op.kind == "fsync":
            synced_files.add(op.ino)
            out[i] = True
        elif op.kind == "dirsync":
            synced_dirs.add(op.path)
            out[i] = True
        elif op.kind == "ack":
            out[i] = True
        elif op.kind in ("data", "trunc"):
            out[i] = op.ino in synced_files
        else:
            out[i] = all(d in synced_dirs for d in op.dirs)
    return out


def variants(ops: list[Op], k: int, exhaustive: bool = True, max_lost: int = 0, seed: int = 0):
    """(name, list of (op index, op to apply)) for the states of a cut after op k. With
    `max_lost`, at most that many single lost calls (a seeded sample) per cut."""
    mask = durable_mask(ops, k)
    idx = list(range(k + 1))
    nondurable = [i for i in idx if not mask[i]]
    yield "all", [(i, ops[i]) for i in idx]
    if not nondurable:
        return
    yield "synced-only", [(i, ops[i]) for i in idx if mask[i]]
    if exhaustive:
        lost = nondurable
        if max_lost and len(lost) > max_lost:
            import random

            lost = sorted(random.Random(seed * 1_000_003 + k).sample(lost, max_lost))
        for j in lost:
            yield f"lose #{j} {ops[j].kind}", [(i, ops[i]) for i in idx if i != j]
    writes = [i for i in nondurable if ops[i].kind == "data" and len(ops[i].data) > 512]
    if writes:
        j = writes[-1]
        half = (len(ops[j].data) // 2) // 512 * 512
        torn = Op("data", ino=ops[j].ino, path=ops[j].path, offset=ops[j].offset, data=ops[j].data[:half])
        yield f"torn #{j}", [(i, torn if i == j else ops[i]) for i in idx]


def build(trace: Trace, applied) -> tuple[dict[str, int], set[str], dict[int, bytearray]]:
    """Apply the chosen ops to the initial state: (namespace, dirs, changed inode contents)."""
    ns = dict(trace.initial)
    dirs = set(trace.initial_dirs)
    content: dict[int, bytearray] = {}

    def get(ino: int) -> bytearray:
        if ino not in content:
            src = trace.initial_files.get(ino)
            content[ino] = bytearray(Path(src).read_bytes()) if src else bytearray()
        return content[ino]

    for _i, op in applied:
        if op.kind == "data":
            buf = get(op.ino)
            end = op.offset + len(op.data)
            if len(buf) < op.offset:
                buf.extend(b"\0" * (op.offset - len(buf)))
            buf[op.offset:end] = op.data
        elif op.kind == "trunc":
            buf = get(op.ino)
            del buf[op.size:]
            if len(buf) < op.size:
                buf.extend(b"\0" * (op.size - len(buf)))
        elif op.kind == "create":
            if os.path.dirname(op.path) in dirs:
                ns[op.path] = op.ino
                get(op.ino)
        elif op.kind == "unlink":
            ns.pop(op.path, None)
        elif op.kind == "rename":
            if op.path in ns and os.path.dirname(op.path2) in dirs:
                ns[op.path2] = ns.pop(op.path)
        elif op.kind == "mkdir":
            if os.path.dirname(op.path) in dirs:
                dirs.add(op.path)
        elif op.kind == "rmdir":
            dirs.discard(op.path)
    # entries whose folder was not persisted are unreachable
    ns = {p: i for p, i in ns.items() if os.path.dirname(p) in dirs}
    return ns, dirs, content


def fingerprint(trace: Trace, ns, dirs, content) -> str:
    h = hashlib.sha256()
    for p in sorted(ns):
        ino = ns[p]
        h.update(p.encode() + b"\0")
        if ino in content:
            h.update(hashlib.sha256(content[ino]).digest())
        else:
            h.update(b"initial %d" % ino)
    for d in sorted(dirs):
        h.update(b"D" + d.encode())
    return h.hexdigest()


def materialize(trace: Trace, ns, dirs, content, dest: Path) -> Path:
    """Write the state into `dest` (which stands for the run's root)."""
    root = trace.root
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for d in sorted(dirs):
        if d != root:
            (dest / os.path.relpath(d, root)).mkdir(parents=True, exist_ok=True)
    for p, ino in ns.items():
        target = dest / os.path.relpath(p, root)
        if ino in content:
            target.write_bytes(bytes(content[ino]))
        else:
            shutil.copyfile(trace.initial_files[ino], target)
    return dest


def acks_before(ops: list[Op], k: int) -> list[str]:
    return [op.text for op in ops[: k + 1] if op.kind == "ack"]


def cut_points(ops: list[Op]) -> list[int]:
    """Every call after which a cut differs in kind: all non-data calls, and the last write of each
    run of writes (a cut inside a run is covered by the lost/torn variants at its end)."""
    out = []
    for k, op in enumerate(ops):
        if op.kind != "data" or k + 1 == len(ops) or ops[k + 1].kind != "data":
            out.append(k)
    return out
