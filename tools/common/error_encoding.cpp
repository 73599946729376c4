// Messages on standard error in the local encoding, like the text on standard output:
// portable, used by both console implementations.
#include <memory>
#include <mutex>
#include <system_error>

#include "console.hpp"
#include "xsock/encoder.hpp"
#include "xsock/encodings.hpp"

namespace xsock::tools {
namespace {

struct error_encoding {
  std::mutex mutex;
  bool chosen = false;
  std::unique_ptr<encoder> to_local;  // none: UTF-8 goes out as it is
};

error_encoding& state() {
  static error_encoding s;
  return s;
}

void choose(error_encoding& s, const std::string& name) {
  s.chosen = true;
  s.to_local.reset();
  std::error_code ec;
  const std::string canonical = canonical_encoding_name(name, ec);
  // An encoding ICU does not know leaves messages in UTF-8: better than none.
  if (ec || canonical == "UTF-8") return;
  try {
    s.to_local = std::make_unique<encoder>(canonical, encode_policy::replace);
  } catch (const std::exception&) {
    s.to_local.reset();
  }
}

bool is_ascii(std::string_view text) {
  for (const char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

void set_error_encoding(const std::string& encoding) {
  error_encoding& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  choose(s, encoding);
}

std::string_view error_bytes(std::string_view utf8, std::string& scratch) {
  // Every local encoding a tool accepts keeps ASCII as it is (it must keep 0x0A a
  // newline): the usual message needs no conversion at all.
  if (is_ascii(utf8)) return utf8;
  error_encoding& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.chosen) choose(s, local_encoding());
  if (!s.to_local) return utf8;
  scratch.clear();
  std::error_code ec;
  s.to_local->encode(utf8, scratch, ec);
  if (ec) return utf8;  // not UTF-8 after all: shown as it came
  return scratch;
}

}  // namespace xsock::tools
