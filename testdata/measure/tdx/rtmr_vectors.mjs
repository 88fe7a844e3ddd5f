// Prints testdata/measure/tdx/rtmr_vectors.json's "cases" by running quex-tech/td-report-web's
// docs/reproduce.mjs (an independent implementation; not part of this repository) on the synthetic
// inputs written by make_kernels.py. Usage:
//   node rtmr_vectors.mjs /path/to/td-report-web/docs/reproduce.mjs OVMF.fd ACPI_TABLES.bin
// The firmware and ACPI tables only feed RTMR0, which the test does not compare.
import { readFileSync } from "node:fs";

const [, , reproducePath, firmwarePath, acpiPath] = process.argv;
const { parseFirmware, reproduceRtmr, bytesToHex } = await import(reproducePath);
const firmware = parseFirmware(new Uint8Array(readFileSync(firmwarePath)));
const acpiTables = new Uint8Array(readFileSync(acpiPath));
const file = (name) => new Uint8Array(readFileSync(new URL(name, import.meta.url)));

const cases = [
  ["kernel-a.efi", "initrd.img", "console=ttyS0 root=/dev/vda1 ro", 4 * 2 ** 30],
  ["kernel-a.efi", "initrd.img", "console=ttyS0 root=/dev/vda1 ro", 2 ** 30],
  ["kernel-a.efi", null, "console=hvc0 quiet", 2 * 2 ** 30],
  ["kernel-a.efi", "initrd.img", "console=hvc0", 0x90000000],
  ["kernel-b.efi", "initrd.img", "console=hvc0", 0x90000000],
  ["kernel-b.efi", null, "", 8 * 2 ** 30],
];
const out = [];
for (const [kernel, initrd, cmdline, memory] of cases) {
  const td = {
    hardware: { totalMemoryBytes: memory, acpiTables },
    firmware,
    software: { kernel: file(kernel), initrd: initrd ? file(initrd) : undefined, cmdline },
  };
  const { registers, events } = await reproduceRtmr(td);
  out.push({
    kernel, initrd, cmdline, memory,
    events: events.filter((e) => e.register > 0).map((e) => ({
      rtmr: e.register, name: e.name, digest: bytesToHex(e.digest),
    })),
    rtmr1: bytesToHex(registers[1]),
    rtmr2: bytesToHex(registers[2]),
  });
}
console.log(JSON.stringify(out, null, 2));
