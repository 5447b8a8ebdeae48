#!/usr/bin/python3
"""tests/lib/mktar.py KIND OUT: writes one (mostly hostile) input archive
for the workspace suites (tests/e2e/10-cells-workspace.bats). Python's
tarfile writes headers exactly as told: no tar program refuses to make
what a hostile client would send."""
import io
import sys
import tarfile


def add(t, name, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)


def main(kind, out):
    if kind == "bomb":
        # one entry of 10 GiB of zeros, streamed (never held in memory)
        with open(out, "wb") as f:
            ti = tarfile.TarInfo("zeros")
            ti.size = 10 << 30
            f.write(ti.tobuf(format=tarfile.GNU_FORMAT))
            block = bytes(1 << 20)
            for _ in range(10 << 10):
                f.write(block)
            f.write(bytes(1024))
        return
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
        if kind == "dotdot":
            add(t, "ok.txt", b"fine\n")
            add(t, "../../x", b"escaped\n")
        elif kind == "absolute":
            add(t, "/etc/x", b"escaped\n")
        elif kind == "symlink":
            add(t, "link", type=tarfile.SYMTYPE, linkname="/etc")
            add(t, "link/x", b"through the link\n")
        elif kind == "symlink-dir":
            add(t, "d", type=tarfile.SYMTYPE, linkname="/tmp")
            add(t, "d/jobcell-escape-probe", b"through the link\n")
        elif kind == "hardlink":
            add(t, "shadow", type=tarfile.LNKTYPE, linkname="/etc/shadow")
        elif kind == "hardlink-rel":
            add(t, "shadow", type=tarfile.LNKTYPE,
                linkname="../../../../../../etc/shadow")
        elif kind == "device":
            add(t, "null", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
        elif kind == "fifo":
            add(t, "fifo", type=tarfile.FIFOTYPE)
        elif kind == "many":
            for i in range(200000):
                add(t, "f%06d" % i)
        elif kind == "good":
            add(t, "src", type=tarfile.DIRTYPE, mode=0o755)
            add(t, "src/hello.sh", b"#!/bin/sh\necho hello from the tar\n",
                mode=0o755)
            add(t, "src/setuid", b"x", mode=0o4755)
            add(t, "src/data.bin", bytes(range(256)), mode=0o644)
            add(t, "src/link", type=tarfile.SYMTYPE, linkname="hello.sh")
            add(t, "src/hard", type=tarfile.LNKTYPE, linkname="src/data.bin")
        else:
            sys.exit("unknown kind " + kind)


main(sys.argv[1], sys.argv[2])
