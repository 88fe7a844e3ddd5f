// Content-addressed storage for ciphertext (encrypted models, datasets, adapters): a blob's id is
// "sha256:<64 lower-case hex>" of its bytes. Blobs are streamed in and out in chunks and never held
// whole in memory.
//
// BlobStore is an interface so that an object store can replace the local one; OpenLocalBlobStore
// gives the filesystem implementation:
//   DIR/objects/<first 2 hex digits>/<other 62>   published blobs, read-only
//   DIR/tmp/                                      blobs being written; emptied at open
//   DIR/.lock                                     flock: one process owns a blob store at a time
// A write goes to a temporary file, is hashed as it arrives, fsynced, checked against the expected
// id, renamed into place and the directory fsynced: a reader sees the whole blob or none, and a
// blob whose Commit returned is durable. A crash mid-write leaves only a temporary file.
#ifndef TRIAD_STORAGE_BLOB_STORE_H_
#define TRIAD_STORAGE_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace triad::storage {

// OK when `id` is "sha256:" and 64 lower-case hex digits; kInvalidArgument otherwise. Every BlobStore
// method checks its id with this first, so an id can never name a path outside the store.
absl::Status ValidateBlobId(absl::string_view id);

// Receives one blob. Not thread-safe. Destroying it without a successful Commit discards the bytes.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  // Appends bytes. kResourceExhausted past the store's size limit; the writer is then spent.
  virtual absl::Status Write(absl::string_view data) = 0;
  virtual uint64_t size() const = 0;
  // Makes the blob durable and visible under its id, and returns the id. When the writer was made
  // with an expected id and the bytes hash to something else, fails with kInvalidArgument
  // "blob content is sha256:X, expected sha256:Y" and stores nothing. The writer is spent either way.
  virtual absl::StatusOr<std::string> Commit() = 0;
};

// Streams one blob out, verifying it. Not thread-safe.
//
// Next() hashes every chunk it returns; the end of the blob is reported (an empty chunk) only when
// the bytes hash to the id and have the expected length, and as kDataLoss otherwise. A caller must
// therefore not act on the data before Next() has returned the empty chunk: pass chunks through to a
// consumer that discards everything on error (a decryptor that authenticates, a client that checks
// the digest), or call BlobStore::Verify first.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual uint64_t size() const = 0;
  // The next chunk (at most the store's chunk size, never empty before the end); valid until the
  // next call. An empty chunk means the end, verified.
  virtual absl::StatusOr<absl::string_view> Next() = 0;
};

// Thread-safe: writers and readers of different blobs (or the same one) may run concurrently.
class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Starts a blob. With a non-empty `expected_id` (validated now), Commit fails unless the bytes hash
  // to it.
  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter(absl::string_view expected_id = "") = 0;
  // kNotFound "blob sha256:... not found" when absent.
  virtual absl::StatusOr<std::unique_ptr<BlobReader>> Open(absl::string_view id) = 0;
  virtual absl::StatusOr<bool> Contains(absl::string_view id) = 0;
  virtual absl::StatusOr<uint64_t> Size(absl::string_view id) = 0;
  // Reads the whole blob and checks it hashes to its id: kDataLoss "blob sha256:Y is corrupt: its
  // content is sha256:X" otherwise.
  virtual absl::Status Verify(absl::string_view id) = 0;
  // Removes a blob; kNotFound when absent.
  virtual absl::Status Remove(absl::string_view id) = 0;
};

struct LocalBlobStoreOptions {
  uint64_t max_blob_bytes = uint64_t{1} << 40;  // 1 TiB
  size_t chunk_size = size_t{1} << 20;          // 1 MiB, the most a reader holds at once
};

// Opens (creating, mode 0700) the blob store in `dir`, takes its lock (kFailedPrecondition when
// another process or another open store holds it) and removes leftover temporary files.
absl::StatusOr<std::unique_ptr<BlobStore>> OpenLocalBlobStore(const std::string& dir,
                                                              const LocalBlobStoreOptions& options = {});

}  // namespace triad::storage

#endif  // TRIAD_STORAGE_BLOB_STORE_H_
