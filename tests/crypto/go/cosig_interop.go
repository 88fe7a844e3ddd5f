// The outside reference for Triad's signed notes and cosignatures: Go's golang.org/x/mod/sumdb/note
// (Debian golang-golang-x-mod-dev) opens a checkpoint that Triad signed and a witness cosigned, and
// cosigns it once more, for Triad to verify (tests/crypto/note_go_interop_test.cc).
//
// The note package knows Ed25519 note keys (type 0x01); a cosignature (c2sp.org/tlog-cosignature,
// type 0x04) is a signature whose key hash and message differ, so it is a note.Verifier/Signer
// written here from that spec: key hash SHA-256(name || "\n" || 0x04 || public key)[:4], signature
// 8-byte big-endian timestamp || Ed25519 over "cosignature/v1\ntime <timestamp>\n" || note text.
//
//	go run cosig_interop.go NOTE_FILE LOG_VKEY WITNESS_NAME WITNESS_PUB_B64 NEW_NAME NEW_SEED_B64 TIME
//
// Prints the note Go opened and re-signed (the original signatures, then NEW_NAME's cosignature
// dated TIME) on stdout; exits 1 with the reason when a signature does not verify.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/mod/sumdb/note"
)

func cosigKeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write([]byte{0x04})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil)[:4])
}

func cosigMessage(ts uint64, text []byte) []byte {
	return append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", ts)), text...)
}

type cosigVerifier struct {
	name string
	pub  ed25519.PublicKey
}

func (v cosigVerifier) Name() string    { return v.name }
func (v cosigVerifier) KeyHash() uint32 { return cosigKeyHash(v.name, v.pub) }
func (v cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig[:8])
	return ed25519.Verify(v.pub, cosigMessage(ts, msg), sig[8:])
}

type cosigSigner struct {
	name string
	key  ed25519.PrivateKey
	ts   uint64
}

func (s cosigSigner) Name() string    { return s.name }
func (s cosigSigner) KeyHash() uint32 { return cosigKeyHash(s.name, s.key.Public().(ed25519.PublicKey)) }
func (s cosigSigner) Sign(msg []byte) ([]byte, error) {
	out := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(out, s.ts)
	return append(out, ed25519.Sign(s.key, cosigMessage(s.ts, msg))...), nil
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 8 {
		fail("usage: cosig_interop NOTE_FILE LOG_VKEY WITNESS_NAME WITNESS_PUB_B64 NEW_NAME NEW_SEED_B64 TIME")
	}
	msg, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	logVerifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("log verifier key: %v", err)
	}
	pub, err := base64.StdEncoding.DecodeString(os.Args[4])
	if err != nil || len(pub) != ed25519.PublicKeySize {
		fail("witness public key: not 32 bytes of base64")
	}
	witness := cosigVerifier{os.Args[3], ed25519.PublicKey(pub)}
	n, err := note.Open(msg, note.VerifierList(logVerifier, witness))
	if err != nil {
		fail("note.Open: %v", err)
	}
	// Both known keys must have verified, and nothing else may be there unverified.
	verified := map[string]bool{}
	for _, s := range n.Sigs {
		verified[s.Name] = true
	}
	if !verified[logVerifier.Name()] || !verified[witness.name] || len(n.UnverifiedSigs) != 0 {
		fail("verified %v, unverified %d", verified, len(n.UnverifiedSigs))
	}
	seed, err := base64.StdEncoding.DecodeString(os.Args[6])
	if err != nil || len(seed) != ed25519.SeedSize {
		fail("new witness seed: not 32 bytes of base64")
	}
	ts, err := strconv.ParseUint(os.Args[7], 10, 63)
	if err != nil {
		fail("time: %v", err)
	}
	out, err := note.Sign(n, cosigSigner{os.Args[5], ed25519.NewKeyFromSeed(seed), ts})
	if err != nil {
		fail("note.Sign: %v", err)
	}
	os.Stdout.Write(out)
}
