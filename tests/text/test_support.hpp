// Helpers for the xsock::text tests: hex, a small JSON-lines reader for the vectors,
// seeded randomness and converter availability.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace xsock::test {

std::string from_hex(std::string_view hex);
std::string to_hex(std::string_view bytes);
/// The UTF-8 form of one code point (written here, independent of the library).
std::string utf8_of(char32_t cp);

/// One JSON value of the vector files: a string, null, or an array of strings.
struct json_value {
  bool is_null = false;
  bool is_array = false;
  std::string text;
  std::vector<std::string> items;
};
using json_object = std::map<std::string, json_value>;

/// Parses one line holding a flat JSON object (string, null or string-array values).
/// Throws std::runtime_error on anything else.
json_object parse_json_line(std::string_view line);

/// The vectors compiled into the test program.
std::vector<json_object> gbk_vectors();

/// A generator seeded from XSOCK_TEST_SEED when set (to replay a failure), else fixed.
std::mt19937_64& rng();
std::uint64_t seed();

/// True when ICU in this build has the converter (trimmed ICU data may lack some).
bool have_converter(std::string_view name);

/// Decodes `bytes` cut at `cuts` (sorted offsets) and finishes.
std::string decode_split(std::string_view encoding, std::string_view bytes,
                         const std::vector<std::size_t>& cuts, int backend,
                         std::uint64_t* invalid = nullptr);

/// Random cut points for a stream of `n` bytes.
std::vector<std::size_t> random_cuts(std::size_t n);

}  // namespace xsock::test

#define XSOCK_SKIP_WITHOUT(name)                                                  \
  do {                                                                            \
    if (!::xsock::test::have_converter(name))                                     \
      GTEST_SKIP() << "ICU data in this build has no " << (name) << " converter"; \
  } while (0)
