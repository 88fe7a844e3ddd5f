// Fuzzes the tar reader (base/tar.h): archives come from other parties (a model owner's model, a
// worker's adapter). Whatever it accepts must be regular files with valid paths whose data has the
// declared size, and must survive a rewrite with TarWriter and a second read unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/tar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using triad::base::TarReader;
  using triad::base::TarWriter;
  triad::base::TarLimits limits;
  limits.max_members = 64;
  limits.max_total_bytes = 1 << 20;
  auto read = [&](absl::string_view archive,
                  std::vector<std::pair<std::string, std::string>>* out) {
    auto r = TarReader::Open(archive, limits);
    if (!r.ok()) return false;
    for (;;) {
      auto m = (*r)->Next();
      if (!m.ok()) return false;
      if (!m->has_value()) return true;
      if (!triad::base::ValidateTarPath((*m)->path).ok()) __builtin_trap();
      std::string body;
      if (out->size() % 2 == 1) {
        // Every other member through the zero-copy view, which must lie inside the archive.
        auto v = (*r)->View();
        if (!v.ok()) return false;
        if (!v->empty() && (v->data() < archive.data() ||
                            v->data() + v->size() > archive.data() + archive.size())) {
          __builtin_trap();
        }
        body = std::string(*v);
      } else {
        char buf[4096];
        for (;;) {
          auto n = (*r)->Read(buf, sizeof buf);
          if (!n.ok()) return false;
          if (*n == 0) break;
          body.append(buf, *n);
        }
      }
      if (body.size() != (*m)->size) __builtin_trap();
      out->emplace_back((*m)->path, std::move(body));
    }
  };
  std::vector<std::pair<std::string, std::string>> members;
  if (!read(absl::string_view(reinterpret_cast<const char*>(data), size), &members)) return 0;
  std::string again;
  auto w = TarWriter::Create([&again](absl::string_view d) {
    again.append(d.data(), d.size());
    return absl::OkStatus();
  });
  if (!w.ok()) __builtin_trap();
  for (const auto& [path, body] : members) {
    absl::Status st = (*w)->AddFile(path, body);
    // GNU and pax archives carry longer names than ustar; those are the only paths it may refuse.
    if (!st.ok() && st.message().find("does not fit a ustar header") != absl::string_view::npos)
      return 0;
    if (!st.ok()) __builtin_trap();
  }
  if (!(*w)->Finish().ok()) __builtin_trap();
  std::vector<std::pair<std::string, std::string>> reread;
  if (!read(again, &reread) || reread != members) __builtin_trap();
  return 0;
}
