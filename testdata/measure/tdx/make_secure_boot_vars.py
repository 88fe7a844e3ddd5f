#!/usr/bin/env python3
"""Writes secure-boot-vars.bin: authenticated-variable records (edk2 VariableFormat.h,
AUTHENTICATED_VARIABLE_HEADER) for PK, KEK, db and dbx with made-up contents, plus one deleted
record (state 0x3c) that must be skipped. The RTMR0 test and rtmr0_vectors.mjs both write these
bytes into the empty variable store of Debian's OVMF image, right after the store header (the CFV's
offset 0x48 + 28), to measure a firmware with enrolled keys. Deterministic: no randomness."""
import struct
import uuid

GLOBAL = uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c").bytes_le
SECURITY_DB = uuid.UUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f").bytes_le


def record(name, guid, data, state=0x3F):
    name16 = (name + "\0").encode("utf-16-le")
    header = struct.pack("<HBBIQ16sIII16s", 0x55AA, state, 0, 0x27, 0, bytes(16), 0,
                         len(name16), len(data), guid)
    assert len(header) == 60
    body = header + name16 + data
    return body + b"\0" * (-len(body) % 4)


out = b"".join([
    record("PK", GLOBAL, b"triad test platform key " * 3),
    record("KEK", GLOBAL, b"triad test key exchange key"),
    record("db", SECURITY_DB, b"triad test db" * 5),
    record("dbx", SECURITY_DB, b"deleted dbx", state=0x3C),
    record("dbx", SECURITY_DB, b"triad test dbx\x01\x02\x03"),
])
with open("secure-boot-vars.bin", "wb") as f:
    f.write(out)
