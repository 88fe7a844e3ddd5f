#!/usr/bin/env python3
"""Writes the signed seeds of request_fuzzer, cosigned_note_fuzzer and keyholder_release_fuzzer.

    tests/fuzz/make_seeds.py        (from the repository root; needs python3-cryptography)

The keys are derived from fixed strings, so the output is the same on every run and the fuzz
targets know the public keys (their sources print the same base64 values). Formats, built here from
their specifications rather than by the code under test:
  request            DSSE envelopes (payloadType application/vnd.triad.request+json, PAE
                     "DSSEv1 <len> <type> <len> <payload>", keyid the hex SHA-256 of the key's
                     SubjectPublicKeyInfo DER) holding triad.request/v2 payloads, one per action, and
                     the bare payloads (coordinator/request.h);
  cosigned_note      a checkpoint (c2sp.org/tlog-checkpoint) signed as a C2SP note (key ID
                     SHA-256(name || 0x0A || 0x01 || key)[:4]) and cosigned by two witnesses
                     (c2sp.org/tlog-cosignature: key ID with 0x04, signed message
                     "cosignature/v1\\ntime <t>\\n" + text, blob key ID || 8-byte time || signature);
  keyholder_release  the release request of the audit bundle seed's model owner (every field of
                     proto ReleaseRequest, as JSON), cut from that real bundle: it passes every check
                     of verify::VerifyAdmission at the fuzzer's fixed time.
"""
import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")


def key(label):
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def raw(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keyid(k):
    der = k.public_key().public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def b64(b):
    return base64.b64encode(b).decode()


def write(folder, name, data):
    os.makedirs(os.path.join(SEEDS, folder), exist_ok=True)
    with open(os.path.join(SEEDS, folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def dsse(payload_type, payload, k):
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)
    return json.dumps({"payload": b64(payload), "payloadType": payload_type,
                       "signatures": [{"keyid": keyid(k), "sig": b64(k.sign(pae))}]},
                      separators=(",", ":"))


# ---- request ----
SIGNER = key("triad request_fuzzer signer")
AUDIENCE = hashlib.sha256(b"triad request_fuzzer coordinator").hexdigest()
ISSUED = "2026-12-07T10:00:00Z"
bundle = json.load(open(os.path.join(SEEDS, "audit_bundle", "bundle.json")))
contract = json.loads(base64.b64decode(bundle["contract"]["envelope"]["payload"]))
mo_card = contract["parties"]["model_owner"]
artifact = bundle["key_releases"][0]["artifact_id"]
card = {"type": "triad.card/v1", "name": "fz", "role": "model-owner",
        "age_recipient": mo_card["age_recipient"], "ed25519_public_key": b64(raw(SIGNER)),
        "fingerprint": keyid(SIGNER)}
header = open(os.path.join(SEEDS, "age_header", "x25519"), "rb").read()
header = header[:header.find(b"\n---")]  # the header lines; the MAC line is cut, the decoder only base64s it
bodies = {
    "register-party": {"card": card},
    "register-artifact": {"kind": "model", "name": "tiny-model", "id": artifact, "size": 1234},
    "poll": {"worker_id": "w1", "tee": "sim"},
    "attest": {"job_id": "j-1", "worker_id": "w1", "nonce": "ab" * 32,
               "ed25519_public_key": b64(raw(key("triad request_fuzzer worker"))),
               "age_recipient": mo_card["age_recipient"]},
    "report-progress": {"job_id": "j-1", "step": 3, "total_steps": 10, "tokens_per_second": 12.5,
                        "loss": 0.75},
    "keyholder-answer": {"release_id": bundle["key_releases"][0]["release_id"],
                         "receipt": json.dumps(bundle["key_releases"][0]["receipt"], separators=(",", ":")),
                         "header": b64(header)},
    "export-bundle": {"job_id": "j-1", "consistency_from": [3, 7], "witnessed": 2},
    "deliver-output": {"job_id": "j-1",
                       "record": json.dumps(bundle["job_record"]["worker"], separators=(",", ":"))},
    "submit-job": {"contract_id": "c-1"},
    "get-contract": {"contract_id": "c-1"},
    "revoke-contract": {"contract_id": "c-1", "reason": "the model owner's key leaked"},
    "report-failure": {"job_id": "j-1", "reason": "out of memory at step 3"},
    "get-job": {"job_id": "j-1"},
    "download-input": {"job_id": "j-1", "artifact_id": artifact},
    "download-artifact": {"artifact_id": artifact},
    "keyholder-poll": {"known_tree_size": 21},
    "get-entries": {"start": 0, "end": 21},
    "get-inclusion-proof": {"index": 11, "tree_size": 21},
}
for n, (action, body) in enumerate(bodies.items()):
    payload = json.dumps({"type": "triad.request/v2", "action": action, "audience": AUDIENCE,
                          "issued_at": ISSUED, "request_id": "%032x" % (n + 1), "body": body},
                         separators=(",", ":")).encode()
    write("request", "%s.envelope.json" % action, dsse("application/vnd.triad.request+json", payload, SIGNER))
    write("request", "%s.payload.json" % action, payload)

# ---- cosigned_note ----
LOG = key("triad cosigned_note_fuzzer log")
ORIGIN = "example.com/triad-fuzz/log"
WITNESSES = [("witness.example/w1", key("triad cosigned_note_fuzzer w1")),
             ("witness.example/w2", key("triad cosigned_note_fuzzer w2"))]


def note_keyid(name, sigtype, k):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sigtype]) + raw(k)).digest()[:4]


def sigline(name, blob):
    return "\u2014 %s %s\n" % (name, b64(blob))


text = "%s\n21\n%s\n" % (ORIGIN, b64(hashlib.sha256(b"triad fuzz root").digest()))
log_line = sigline(ORIGIN, note_keyid(ORIGIN, 1, LOG) + LOG.sign(text.encode()))
cosig = ""
for i, (name, w) in enumerate(WITNESSES):
    t = 1796637600 + i
    msg = ("cosignature/v1\ntime %d\n" % t + text).encode()
    cosig += sigline(name, note_keyid(name, 4, w) + struct.pack(">Q", t) + w.sign(msg))
stranger = key("triad cosigned_note_fuzzer stranger")
t = 1796637700
other = sigline("witness.example/other", note_keyid("witness.example/other", 4, stranger) +
                struct.pack(">Q", t) + stranger.sign(("cosignature/v1\ntime %d\n" % t + text).encode()))
write("cosigned_note", "log-and-two-witnesses.note", text + "\n" + log_line + cosig)
write("cosigned_note", "log-two-witnesses-and-a-stranger.note", text + "\n" + log_line + cosig + other)
write("cosigned_note", "log-only.note", text + "\n" + log_line)
ext = text + "extension line\n"
write("cosigned_note", "with-extension.note",
      ext + "\n" + sigline(ORIGIN, note_keyid(ORIGIN, 1, LOG) + LOG.sign(ext.encode())) +
      sigline(WITNESSES[0][0], note_keyid(WITNESSES[0][0], 4, WITNESSES[0][1]) + struct.pack(">Q", 5) +
              WITNESSES[0][1].sign(("cosignature/v1\ntime 5\n" + ext).encode())))

# ---- keyholder_release ----
rel = bundle["key_releases"][0]
entries = [e for e in bundle["log"]["entries"]
           if json.loads(e["entry"]).get("job_id") == bundle["job_id"]]
cut = next(i for i, e in enumerate(entries) if json.loads(e["entry"])["kind"] == "job.admission")
release = {
    "release_id": rel["release_id"], "job_id": bundle["job_id"], "attempt": rel["attempt"],
    "artifact_id": rel["artifact_id"],
    "contract_envelope_json": json.dumps(bundle["contract"]["envelope"], separators=(",", ":")),
    "submission_envelope_json": json.dumps(bundle["job"]["submission"], separators=(",", ":")),
    "evidence_document": bundle["admissions"][0]["evidence_document"],
    "job_entries": [{"index": e["index"], "entry": e["entry"], "inclusion_proof": e["inclusion_proof"]}
                    for e in entries[:cut + 1]],
    "checkpoint": bundle["log"]["checkpoint"], "consistency_proof": [], "consistency_from": 0,
    "contract_revoked": False,
}
write("keyholder_release", "model-owner-release.json", json.dumps(release, indent=1))
release["contract_revoked"] = True
write("keyholder_release", "revoked.json", json.dumps(release, indent=1))

print("request signer", b64(raw(SIGNER)), "audience", AUDIENCE)
print("log", b64(raw(LOG)), "witnesses", [b64(raw(w)) for _, w in WITNESSES])
print("mo card", json.dumps(mo_card, separators=(",", ":")))
print("admission time", json.loads(entries[cut]["entry"])["time"])
