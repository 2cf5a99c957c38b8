"""Writes the hostile bundle corpus (tests/corpus/bundles/*.tar.gz) with Python's tarfile.

Each archive carries one attack or defect a bundle reader must reject before writing anything.
`crates/lathe-core/tests/core/bundle.rs` reads every one and checks the message; the CLI test
does the same through `lathe bundle verify`. Run from the repository root:

    python3 tests/corpus/bundles/make_hostile.py
"""

import gzip
import io
import json
import os
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "model-1"
MANIFEST = json.dumps({"format": "lathe-bundle", "format_version": 1}).encode()


def info(name, size=0, kind=tarfile.REGTYPE, **kw):
    t = tarfile.TarInfo(name)
    t.size = size
    t.type = kind
    t.mtime = 0
    t.mode = 0o644
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def write(name, entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for t, data in entries:
            tar.addfile(t, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(gzip.compress(raw, mtime=0))
    return raw


def regular(path, data):
    return (info(path, len(data)), data)


manifest = regular(f"{ROOT}/manifest.json", MANIFEST)

write("dotdot.tar.gz", [manifest, regular(f"{ROOT}/../../evil.sh", b"rm -rf ~\n")])
write("absolute.tar.gz", [manifest, regular("/etc/cron.d/evil", b"* * * * * root id\n")])
write("symlink.tar.gz", [manifest, (info(f"{ROOT}/model/model.onnx", kind=tarfile.SYMTYPE, linkname="/etc/passwd"), None)])
write("hardlink.tar.gz", [manifest, (info(f"{ROOT}/model/model.onnx", kind=tarfile.LNKTYPE, linkname="/etc/shadow"), None)])
write("device.tar.gz", [manifest, (info(f"{ROOT}/dev/sda", kind=tarfile.BLKTYPE, devmajor=8, devminor=0), None)])
write("chardev.tar.gz", [manifest, (info(f"{ROOT}/dev/mem", kind=tarfile.CHRTYPE, devmajor=1, devminor=1), None)])
write("fifo.tar.gz", [manifest, (info(f"{ROOT}/pipe", kind=tarfile.FIFOTYPE), None)])
write("duplicate.tar.gz", [manifest, regular(f"{ROOT}/MLmodel", b"first\n"), regular(f"{ROOT}/MLmodel", b"second\n")])
write("two_roots.tar.gz", [manifest, regular("other-1/manifest.json", MANIFEST)])
write("missing_manifest.tar.gz", [regular(f"{ROOT}/model/model.onnx", b"\x08\x07")])
# A non-UTF-8 name: a PAX header cannot carry it, a GNU/ustar one can (surrogateescape).
write("non_utf8.tar.gz", [manifest, regular(f"{ROOT}/caf\udce9.txt", b"x")], fmt=tarfile.GNU_FORMAT)

# The manifest (and SHA256SUMS) list a file the archive lacks.
import hashlib

listed = json.dumps({
    "format": "lathe-bundle", "format_version": 1,
    "model": {"name": "model", "version": 1, "sha256": "0" * 64, "size_bytes": 10,
              "task": "classification", "target": "y", "features": ["x"],
              "registered_at": "2026-01-01T00:00:00.000Z"},
    "created": "2026-01-01T00:00:00.000Z", "lathe_version": "0.1.0",
    "lineage": {"run": None, "training_dataset": None, "evaluation_dataset": None,
                "reference_dataset": None},
    "metrics": {},
    "files": [{"path": "model/model.onnx", "sha256": "0" * 64, "size": 10}],
    "signature": None,
}).encode()
sums = f"{'0' * 64}  model/model.onnx\n{hashlib.sha256(listed).hexdigest()}  manifest.json\n".encode()
write("listed_absent.tar.gz", [regular(f"{ROOT}/manifest.json", listed), regular(f"{ROOT}/SHA256SUMS", sums)])

# A declared size that lies: the header says 1 MiB, the archive holds 10 bytes and ends.
raw = write("size_lies.tar.gz", [manifest, regular(f"{ROOT}/model/model.onnx", b"0123456789")])
header_at = raw.index(b"model/model.onnx") - len(ROOT) - 1
block = bytearray(raw[header_at:header_at + 512])
block[124:136] = b"%011o\0" % (1 << 20)
block[148:156] = b"        "
block[148:156] = b"%06o\0 " % sum(block)
lied = raw[:header_at] + bytes(block) + raw[header_at + 512:header_at + 1024]
with open(os.path.join(HERE, "size_lies.tar.gz"), "wb") as f:
    f.write(gzip.compress(lied, mtime=0))

# A gzip bomb: 200 MiB of zeros in one entry packs to about 200 KiB.
bomb = io.BytesIO()
with tarfile.open(fileobj=bomb, mode="w", format=tarfile.GNU_FORMAT) as tar:
    tar.addfile(info(f"{ROOT}/manifest.json", len(MANIFEST)), io.BytesIO(MANIFEST))
    size = 200 << 20
    tar.addfile(info(f"{ROOT}/model/model.onnx", size), io.BytesIO(bytes(size)))
with open(os.path.join(HERE, "bomb.tar.gz"), "wb") as f:
    f.write(gzip.compress(bomb.getvalue(), compresslevel=9, mtime=0))

# Not gzip at all, and a truncated gzip stream.
with open(os.path.join(HERE, "not_gzip.tar.gz"), "wb") as f:
    f.write(b"PK\x03\x04 this is a zip file, not a bundle\n")
good = io.BytesIO()
with tarfile.open(fileobj=good, mode="w", format=tarfile.GNU_FORMAT) as tar:
    tar.addfile(info(f"{ROOT}/manifest.json", len(MANIFEST)), io.BytesIO(MANIFEST))
    tar.addfile(info(f"{ROOT}/model/model.onnx", 4096), io.BytesIO(os.urandom(4096)))
packed = gzip.compress(good.getvalue(), mtime=0)
with open(os.path.join(HERE, "truncated.tar.gz"), "wb") as f:
    f.write(packed[: len(packed) // 2])
print("wrote", sorted(n for n in os.listdir(HERE) if n.endswith(".tar.gz")))
