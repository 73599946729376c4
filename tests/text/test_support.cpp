#include "test_support.hpp"

#include <cstdlib>
#include <stdexcept>

#include <unicode/utf8.h>

#include "xsock/decoder.hpp"
#include "xsock/encodings.hpp"

extern const unsigned char gbk_vectors_data[];
extern const std::size_t gbk_vectors_size;

namespace xsock::test {

std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::runtime_error("bad hex digit");
  };
  if (hex.size() % 2) throw std::runtime_error("odd hex length");
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

namespace {

// ICU's own UTF-8 writer, not the library's: the expected text of the vectors must not
// come from the code under test.
void append_utf8(std::string& out, std::uint32_t cp) {
  std::uint8_t buf[U8_MAX_LENGTH];
  std::int32_t length = 0;
  // The macro mixes signed and unsigned code point types internally.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
#endif
  U8_APPEND_UNSAFE(buf, length, static_cast<UChar32>(cp));
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(length));
}

class json_reader {
 public:
  explicit json_reader(std::string_view s) : s_(s) {}

  json_object object() {
    json_object obj;
    expect('{');
    skip_ws();
    if (peek() == '}') {
      ++i_;
      return obj;
    }
    for (;;) {
      skip_ws();
      std::string key = string();
      skip_ws();
      expect(':');
      skip_ws();
      obj[key] = value();
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      return obj;
    }
  }

 private:
  json_value value() {
    json_value v;
    if (s_.substr(i_, 4) == "null") {
      i_ += 4;
      v.is_null = true;
    } else if (peek() == '[') {
      ++i_;
      v.is_array = true;
      skip_ws();
      if (peek() == ']') {
        ++i_;
        return v;
      }
      for (;;) {
        skip_ws();
        v.items.push_back(string());
        skip_ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect(']');
        break;
      }
    } else {
      v.text = string();
    }
    return v;
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      const char c = next();
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      const char e = next();
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(i_, 2) == "\\u") {
            i_ += 2;
            const std::uint32_t low = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          throw std::runtime_error("bad JSON escape");
      }
    }
  }

  std::uint32_t hex4() {
    const std::string digits = from_hex(std::string(s_.substr(i_, 4)));
    i_ += 4;
    return static_cast<std::uint32_t>(static_cast<unsigned char>(digits[0])) << 8 |
           static_cast<unsigned char>(digits[1]);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  char next() {
    if (i_ >= s_.size()) throw std::runtime_error("unexpected end of JSON");
    return s_[i_++];
  }
  void expect(char c) {
    if (next() != c) throw std::runtime_error(std::string("expected ") + c + " in JSON");
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::string utf8_of(char32_t cp) {
  std::string out;
  append_utf8(out, static_cast<std::uint32_t>(cp));
  return out;
}

json_object parse_json_line(std::string_view line) {
  return json_reader(line).object();
}

std::vector<json_object> gbk_vectors() {
  const std::string_view all(reinterpret_cast<const char*>(gbk_vectors_data), gbk_vectors_size);
  std::vector<json_object> out;
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find('\n', start);
    if (end == std::string_view::npos) end = all.size();
    const std::string_view line = all.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      out.push_back(parse_json_line(line));
    }
    start = end + 1;
  }
  return out;
}

std::uint64_t seed() {
  static const std::uint64_t value = [] {
    const char* env = std::getenv("XSOCK_TEST_SEED");
    return env ? std::strtoull(env, nullptr, 10) : std::uint64_t{20261125};
  }();
  return value;
}

std::mt19937_64& rng() {
  static std::mt19937_64 generator(seed());
  return generator;
}

bool have_converter(std::string_view name) {
  return encoding_exists(name);
}

std::string decode_split(std::string_view encoding, std::string_view bytes,
                         const std::vector<std::size_t>& cuts, int backend,
                         std::uint64_t* invalid) {
  decoder d(encoding, decode_policy::replace,
            backend == 0 ? decoder_backend::automatic : decoder_backend::icu);
  std::string out;
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    d.decode(bytes.substr(at, cut - at), out);
    at = cut;
  }
  d.decode(bytes.substr(at), out);
  d.finish(out);
  if (invalid) *invalid = d.invalid_count();
  return out;
}

std::vector<std::size_t> random_cuts(std::size_t n) {
  std::vector<std::size_t> cuts;
  if (n == 0) return cuts;
  std::uniform_int_distribution<std::size_t> gap(0, 7);
  for (std::size_t at = gap(rng()); at < n; at += gap(rng()))
    cuts.push_back(at);
  return cuts;
}

}  // namespace xsock::test
