#!/usr/bin/env python3
"""Writes the synthetic direct-boot inputs of testdata/measure/tdx/rtmr_vectors.json.

Each kernel is a small PE/COFF image shaped like an x86 bzImage with an EFI stub: an MZ header whose
e_lfanew points at a PE header below the Linux setup header (0x1f1), a section table, the setup header
("HdrS", boot protocol version, loadflags, initrd_addr_max, xloadflags) that QEMU patches, and
section bodies filled with deterministic bytes. They exercise what the Authenticode digest of
edk2's MeasureBootPeCoff must handle: PE32 and PE32+, sections listed out of file order, an empty
section, data after the last section, an attribute certificate table (excluded), a file size that
is not a multiple of 8, and NumberOfRvaAndSizes without a security directory.

Deterministic: running it again writes the same bytes (the test checks their SHA-256).
"""
import hashlib
import struct
import sys


def filler(tag, n):
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%s-%d" % (tag, i)).digest()
        i += 1
    return out[:n]


def kernel(tag, pe32plus, rva_count, protocol, xloadflags, sections, trailing, cert):
    """sections: (name, pointer, size) in section-table order; the body at pointer is filler."""
    end = max(p + s for _, p, s in sections)
    size = end + trailing + cert
    img = bytearray(filler(tag + b"-body", size))
    img[0:0x40] = b"MZ" + bytes(0x3A) + struct.pack("<I", 0x40)
    opt_fixed = 112 if pe32plus else 96
    opt_size = opt_fixed + 8 * rva_count
    coff = struct.pack("<HHIIIHH", 0x8664 if pe32plus else 0x14C, len(sections), 0, 0, 0, opt_size,
                       0x0206)
    opt = bytearray(filler(tag + b"-opt", opt_size))
    struct.pack_into("<H", opt, 0, 0x20B if pe32plus else 0x10B)
    struct.pack_into("<I", opt, 60, 0x200)          # SizeOfHeaders
    struct.pack_into("<I", opt, 64, 0x1234ABCD)     # CheckSum: excluded from the digest
    struct.pack_into("<I", opt, opt_fixed - 4, rva_count)
    if rva_count > 4:
        struct.pack_into("<II", opt, opt_fixed + 4 * 8, (size - cert) if cert else 0, cert)
    table = b""
    for name, pointer, sz in sections:
        table += struct.pack("<8sIIIIIIHHI", name, sz, pointer, sz, pointer, 0, 0, 0, 0, 0x60000020)
    hdr = b"PE\0\0" + coff + bytes(opt) + table
    assert 0x40 + len(hdr) <= 0x1F1, "PE header overlaps the setup header"
    img[0x40:0x40 + len(hdr)] = hdr
    img[0x1F1] = 3                                   # setup_sects
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, protocol)
    img[0x211] = 0x01                                # loadflags: LOADED_HIGH
    struct.pack_into("<I", img, 0x22C, 0x7FFFFFFF)   # initrd_addr_max
    struct.pack_into("<H", img, 0x236, xloadflags)
    struct.pack_into("<I", img, 0x238, 2047)         # cmdline_size
    return bytes(img)


def main(outdir):
    files = {
        # PE32+, sections out of file order and one empty, trailing data, a certificate table,
        # XLF_CAN_BE_LOADED_ABOVE_4G set.
        "kernel-a.efi": kernel(b"a", True, 16, 0x020F, 0x7F,
                               [(b".text", 0x1000, 0x1800), (b".setup", 0x200, 0x600),
                                (b".reloc", 0x800, 0x0), (b".data", 0x2800, 0x600)],
                               trailing=0x123, cert=0x88),
        # PE32, no security directory, odd size, XLF_CAN_BE_LOADED_ABOVE_4G clear.
        "kernel-b.efi": kernel(b"b", False, 4, 0x020C, 0x0D,
                               [(b".setup", 0x200, 0x600), (b".text", 0x800, 0x1400)],
                               trailing=0x35, cert=0),
        "initrd.img": filler(b"initrd", 0x2345),
    }
    for name, data in files.items():
        with open(f"{outdir}/{name}", "wb") as f:
            f.write(data)
        print(name, len(data), hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
