// Writes testdata/measure/tdx/rtmr0/: for each VM shape (and once with enrolled secure-boot keys), the three fw_cfg files QEMU serves for its
// ACPI tables (etc/table-loader, etc/acpi/rsdp, etc/acpi/tables) and, in vectors.json, RTMR0 and
// each RTMR0 event digest as quex-tech/td-report-web computes them (docs/acpi.mjs generates the
// tables of its QEMU configuration, docs/reproduce.mjs derives the loader and RSDP from them and
// replays TDVF's events). That code is an independent implementation, not part of this repository;
// its loader and RSDP builders are not exported, so this appends an export line to a copy of
// reproduce.mjs in memory before importing it. Usage:
//   node rtmr0_vectors.mjs /path/to/td-report-web/docs OVMF.fd OUT_DIR DUMP_DIR
// where DUMP_DIR holds 1c-1g-nic.bin and 2c-4g-nic.bin from that repository's src/acpi.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [, , docs, firmwarePath, outDir, dumpDir] = process.argv;
const source = readFileSync(join(docs, "reproduce.mjs"), "utf8") +
    "\nexport { getTableLoader, getRsdp, parseAcpiTables };\n";
const reproduce = await import("data:text/javascript;base64," +
                               Buffer.from(source).toString("base64"));
const { getAcpi } = await import(join(docs, "acpi.mjs"));
const image = new Uint8Array(readFileSync(firmwarePath));
// Debian's image with the records of make_secure_boot_vars.py written into its empty variable
// store (right after the store header at 0x48): enrolled PK, KEK, db, dbx.
const enrolled = new Uint8Array(image);
enrolled.set(new Uint8Array(readFileSync(new URL("secure-boot-vars.bin", import.meta.url))), 0x48 + 28);
const firmwares = { "": reproduce.parseFirmware(image),
                    "secure-boot-vars.bin": reproduce.parseFirmware(enrolled) };
const hex = reproduce.bytesToHex;

// vCPUs, memory (bytes), disks: the shapes td-report-web's generator models.
const shapes = [
  [1, 2 * 2 ** 30, 0, ""],
  [4, 4 * 2 ** 30, 1, ""],
  [2, 0x90000000, 2, ""],
  [1, 2 * 2 ** 30, 0, "secure-boot-vars.bin"],
];
// The kernel only feeds RTMR1; RTMR0 does not depend on it.
const kernel = new Uint8Array(readFileSync(new URL("kernel-a.efi", import.meta.url)));
const cases = [];
// ACPI tables td-report-web dumped from a real QEMU for the libvirt domain beside each (its
// src/acpi/*.bin at commit 81304faa0c893277031c2503d94e609e6e3fca08): 1 vCPU and 1 GiB, 2 vCPUs and
// 4 GiB, each with a virtio NIC.
const dumps = [["qemu-1c-1g-nic", 2 ** 30], ["qemu-2c-4g-nic", 4 * 2 ** 30]];
const inputs = shapes.map(([cpus, memory, disks, patch]) => [
  `vcpus${cpus}-mem${memory}-disks${disks}`, memory, patch, () => getAcpi(cpus, memory, disks)]);
for (const [name, memory] of dumps) {
  inputs.push([name, memory, "", () => new Uint8Array(
      readFileSync(join(dumpDir, name.slice("qemu-".length) + ".bin")))]);
}
for (const [name, memory, patch, makeTables] of inputs) {
  const tables = makeTables();
  const parsed = reproduce.parseAcpiTables(tables);
  const files = {
    "etc/table-loader": reproduce.getTableLoader(parsed),
    "etc/acpi/rsdp": reproduce.getRsdp(parsed),
    "etc/acpi/tables": tables,
  };
  for (const [file, bytes] of Object.entries(files)) {
    const path = join(outDir, name, file);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, bytes);
  }
  const td = {
    hardware: { totalMemoryBytes: memory, acpiTables: tables },
    firmware: firmwares[patch],
    software: { kernel: new Uint8Array(kernel), cmdline: "console=hvc0" },
  };
  const { registers, events } = await reproduce.reproduceRtmr(td);
  cases.push({
    fw_cfg: name, memory, firmware_patch: patch,
    events: events.filter((e) => e.register === 0).map((e) => ({
      type: e.type, name: e.name, digest: hex(e.digest),
    })),
    rtmr0: hex(registers[0]),
  });
}
console.log(JSON.stringify(cases, null, 2));
