#!/usr/bin/env python3
"""Writes the binary seeds of the GPU attestation fuzz targets (run from the repository root):

  nvidia_spdm/*.bin   the real reports of testdata/attestation/nvidia, hex-decoded (NVIDIA's tools
                      write hex; the target is fed binary so that mutations reach past byte 0)
  nvidia_chain/*.bin  u16le report length, report, then per certificate u16le length and DER: the
                      real reports with their real chains (nvidia_chain_fuzzer's input layout)
  revocation/*.bin    mode byte (0: OCSP response, 1: CRL), u16le length + issuer DER, u16le
                      length + subject DER, then the OCSP response (DER) or CRL (DER or PEM), made
                      here with a throwaway P-256 CA (revocation_fuzzer's input layout)

The revocation seeds use fresh keys each run; the committed ones are one such run.
"""
import datetime
import pathlib
import re
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = pathlib.Path(".")
NV = ROOT / "testdata/attestation/nvidia"
SEEDS = ROOT / "tests/fuzz/seeds"
VECTORS = {
    "nvtrust-h100": "nvtrust-h100-550.90.07",
    "nas-h100": "nas-h100-535.86.09",
    "nas-b100": "nas-b100-575.32",
    "nas-h100-invalid-signature": "nas-h100-invalid-signature",
    "trustee-coco-h100": "trustee-coco-h100",
}


def pem_certs(text):
    return [x509.load_pem_x509_certificate(m.encode()) for m in
            re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)]


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def u16(n):
    return struct.pack("<H", n)


def nvidia():
    for name, d in VECTORS.items():
        report = bytes.fromhex((NV / d / "report.hex").read_text().strip())
        (SEEDS / "nvidia_spdm" / f"{name}.bin").write_bytes(report)
        if name not in ("nvtrust-h100", "nas-b100"):
            continue  # the chain seeds keep two, Hopper and Blackwell (each run verifies a chain)
        chain = pem_certs((NV / d / "cert_chain.pem").read_text())
        blob = u16(len(report)) + report + b"".join(u16(len(der(c))) + der(c) for c in chain)
        (SEEDS / "nvidia_chain" / f"{name}.bin").write_bytes(blob)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(cn, key, issuer_cert, issuer_key, ca, eku=None):
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(name(cn))
         .issuer_name(issuer_cert.subject if issuer_cert else name(cn))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now)
         .not_valid_after(now + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def revocation():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue("Fuzz CA", ca_key, None, ca_key, True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue("Fuzz Leaf", leaf_key, ca, ca_key, False)
    resp_key = ec.generate_private_key(ec.SECP256R1())
    responder = issue("Fuzz OCSP Responder", resp_key, ca, ca_key, False,
                      [ExtendedKeyUsageOID.OCSP_SIGNING])
    this_update = datetime.datetime(2025, 6, 30, tzinfo=datetime.timezone.utc)
    next_update = this_update + datetime.timedelta(days=7)

    def frame(mode, payload):
        return bytes([mode]) + u16(len(der(ca))) + der(ca) + u16(len(der(leaf))) + der(leaf) + payload

    def ocsp_response(status, signer, signer_key, with_certs, algorithm=hashes.SHA1()):
        b = ocsp.OCSPResponseBuilder().add_response(
            cert=leaf, issuer=ca, algorithm=algorithm, cert_status=status,
            this_update=this_update, next_update=next_update,
            revocation_time=this_update if status == ocsp.OCSPCertStatus.REVOKED else None,
            revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, signer)
        if with_certs:
            b = b.certificates([signer])
        return b.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    out = SEEDS / "revocation"
    out.joinpath("ocsp-good.bin").write_bytes(
        frame(0, ocsp_response(ocsp.OCSPCertStatus.GOOD, ca, ca_key, False)))
    out.joinpath("ocsp-revoked.bin").write_bytes(
        frame(0, ocsp_response(ocsp.OCSPCertStatus.REVOKED, ca, ca_key, False)))
    out.joinpath("ocsp-delegated-sha256.bin").write_bytes(
        frame(0, ocsp_response(ocsp.OCSPCertStatus.GOOD, responder, resp_key, True,
                               hashes.SHA256())))
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
           .last_update(this_update).next_update(next_update)
           .add_revoked_certificate(x509.RevokedCertificateBuilder()
                                    .serial_number(leaf.serial_number)
                                    .revocation_date(this_update).build())
           .sign(ca_key, hashes.SHA256()))
    out.joinpath("crl-der.bin").write_bytes(frame(1, crl.public_bytes(serialization.Encoding.DER)))
    out.joinpath("crl-pem.bin").write_bytes(frame(1, crl.public_bytes(serialization.Encoding.PEM)))


if __name__ == "__main__":
    nvidia()
    revocation()
