// Fuzz target: the decoder (both engines, both policies) and the line splitter on
// arbitrary bytes cut at arbitrary points. Aborts when a property breaks:
// - decoding split input equals decoding it whole, and the fast path equals ICU;
// - decoder output is well-formed UTF-8;
// - the splitter's lines do not depend on the cuts, respect the maximum, and lose
//   nothing but line terminators;
// - escaped output holds no control character.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "text_support.hpp"
#include "xsock/decoder.hpp"
#include "xsock/line_splitter.hpp"
#include "xsock/terminal_escape.hpp"

namespace {

using namespace xsock;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property broken: %s\n", what);
    std::abort();
  }
}

struct transcript {
  std::string text;
  std::vector<std::uint64_t> errors;
  std::uint64_t invalid = 0;
  bool operator==(const transcript& o) const {
    return text == o.text && errors == o.errors && invalid == o.invalid;
  }
};

transcript run(decoder& d, std::string_view bytes, const std::vector<std::size_t>& cuts) {
  transcript t;
  std::error_code ec;
  std::size_t at = 0;
  auto feed = [&](std::string_view piece) {
    d.decode(piece, t.text, ec);
    while (ec) {
      t.errors.push_back(d.last_error().offset);
      d.decode({}, t.text, ec);
    }
  };
  for (std::size_t cut : cuts) {
    feed(bytes.substr(at, cut - at));
    at = cut;
  }
  feed(bytes.substr(at));
  d.finish(t.text, ec);
  while (ec) {
    t.errors.push_back(d.last_error().offset);
    d.finish(t.text, ec);
  }
  t.invalid = d.invalid_count();
  return t;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    char32_t cp;
    const std::size_t n = detail::next_utf8(p, end, cp);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char* const encodings[] = {"GBK", "GB18030", "UTF-8", "Big5", "Shift_JIS", "EUC-KR"};
  if (size < 3) return 0;
  const char* encoding = encodings[data[0] % 6];
  const decode_policy policy = (data[0] & 0x80) ? decode_policy::strict : decode_policy::replace;
  const std::size_t max_line = 1 + data[1] % 64;
  std::uint32_t state = 0x9E3779B9u ^ data[2];
  const std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);

  std::vector<std::size_t> cuts;
  for (std::size_t at = 0;;) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    at += state % 9;
    if (at >= input.size()) break;
    cuts.push_back(at);
  }

  decoder icu_whole(encoding, policy, decoder_backend::icu);
  decoder icu_split(encoding, policy, decoder_backend::icu);
  decoder fast_split(encoding, policy, decoder_backend::automatic);
  const transcript whole = run(icu_whole, input, {});
  check(valid_utf8(whole.text), "decoder output is UTF-8");
  check(run(icu_split, input, cuts) == whole, "ICU: split decode equals whole decode");
  check(run(fast_split, input, cuts) == whole, "automatic engine equals ICU");

  const std::string escaped = escape_for_terminal(whole.text);
  for (const char ch : escaped) {
    const auto c = static_cast<unsigned char>(ch);
    check(c == '\t' || (c >= 0x20 && c != 0x7F), "escaped");
  }

  line_splitter a(max_line, encoding), b(max_line, encoding);
  std::vector<line> la = a.push(input), lb;
  a.finish(la);
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    b.push(input.substr(at, cut - at), lb);
    at = cut;
  }
  b.push(input.substr(at), lb);
  b.finish(lb);
  check(la.size() == lb.size(), "line count independent of cuts");
  std::string joined, expected;
  decoder per_line(encoding, decode_policy::replace);
  for (std::size_t i = 0; i < la.size(); ++i) {
    check(la[i].bytes == lb[i].bytes && la[i].end == lb[i].end, "lines independent of cuts");
    check(la[i].bytes.size() <= max_line, "line within maximum");
    joined += la[i].bytes;
    if (la[i].end == line_end::newline) joined += '\n';
    check(valid_utf8(per_line.decode(la[i].bytes)), "piece decodes to UTF-8");
  }
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (input[i] == '\r' && i + 1 < input.size() && input[i + 1] == '\n') continue;
    expected += input[i];
  }
  check(joined == expected, "splitter loses only terminators");
  return 0;
}
