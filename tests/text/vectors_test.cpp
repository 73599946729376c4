// Every case of data/gbk-vectors.jsonl (ICU's behaviour for GBK, recorded with Python
// and uconv), through both decoder engines, at every split position.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <regex>

#include "test_support.hpp"
#include "xsock/decoder.hpp"
#include "xsock/encoder.hpp"

namespace xsock {
namespace {

using test::from_hex;
using test::json_object;
using test::to_hex;

const decoder_backend backends[] = {decoder_backend::automatic, decoder_backend::icu};

std::string field(const json_object& v, const char* key) {
  auto it = v.find(key);
  return it == v.end() || it->second.is_null ? std::string() : it->second.text;
}
bool has(const json_object& v, const char* key) {
  auto it = v.find(key);
  return it != v.end() && !it->second.is_null;
}

// "2 x U+FFFD: ..." -> 2; "no substitution" -> 0.
std::uint64_t expected_replacements(const json_object& v) {
  static const std::regex count(R"(^(\d+) x U\+FFFD)");
  std::smatch m;
  const std::string text = field(v, "icu_default");
  return std::regex_search(text, m, count) ? std::stoull(m[1]) : 0;
}

std::string decode_whole(std::string_view bytes, decoder_backend backend,
                         std::uint64_t* invalid = nullptr) {
  decoder d("GBK", decode_policy::replace, backend);
  std::string out = d.decode(bytes);
  out += d.finish();
  if (invalid) *invalid = d.invalid_count();
  return out;
}

class gbk_vectors : public ::testing::Test {
 protected:
  static const std::vector<json_object>& all() {
    static const std::vector<json_object> v = test::gbk_vectors();
    return v;
  }
};

TEST_F(gbk_vectors, file_is_complete_and_every_direction_is_known) {
  ASSERT_EQ(all().size(), 44u);
  for (const auto& v : all()) {
    const std::string dir = field(v, "direction");
    EXPECT_TRUE(dir == "roundtrip" || dir == "decode" || dir == "decode-split" || dir == "encode")
        << field(v, "name") << ": " << dir;
    EXPECT_EQ(field(v, "encoding"), "GBK") << field(v, "name");
    // The JSON text and the hex spelling of it must agree, or the file is corrupt.
    EXPECT_EQ(to_hex(field(v, "utf8")), field(v, "utf8_hex")) << field(v, "name");
  }
}

TEST_F(gbk_vectors, decode_whole_matches_icu_record) {
  for (const auto& v : all()) {
    const std::string dir = field(v, "direction");
    if (dir == "encode") continue;
    const std::string bytes = from_hex(field(v, "bytes_hex"));
    for (auto backend : backends) {
      std::uint64_t invalid = 0;
      EXPECT_EQ(to_hex(decode_whole(bytes, backend, &invalid)), field(v, "utf8_hex"))
          << field(v, "name") << " backend " << static_cast<int>(backend);
      EXPECT_EQ(invalid, expected_replacements(v)) << field(v, "name");
    }
  }
}

TEST_F(gbk_vectors, decode_every_split_position_equals_whole) {
  for (const auto& v : all()) {
    if (field(v, "direction") == "encode") continue;
    const std::string bytes = from_hex(field(v, "bytes_hex"));
    const std::string expected = field(v, "utf8_hex");
    for (int backend = 0; backend < 2; ++backend) {
      for (std::size_t i = 0; i <= bytes.size(); ++i) {
        for (std::size_t j = i; j <= bytes.size(); ++j) {
          std::uint64_t invalid = 0;
          EXPECT_EQ(to_hex(test::decode_split("GBK", bytes, {i, j}, backend, &invalid)), expected)
              << field(v, "name") << " cut at " << i << "," << j;
          EXPECT_EQ(invalid, expected_replacements(v)) << field(v, "name");
        }
      }
      // One byte per read: the worst case of a slow network.
      std::vector<std::size_t> every;
      for (std::size_t i = 1; i < bytes.size(); ++i)
        every.push_back(i);
      EXPECT_EQ(to_hex(test::decode_split("GBK", bytes, every, backend)), expected)
          << field(v, "name") << " byte by byte";
    }
  }
}

TEST_F(gbk_vectors, decode_split_chunks_give_recorded_partial_output) {
  int seen = 0;
  for (const auto& v : all()) {
    if (field(v, "direction") != "decode-split") continue;
    ++seen;
    const auto& chunks = v.at("chunks_hex").items;
    ASSERT_EQ(chunks.size(), 2u);
    for (auto backend : backends) {
      decoder d("GBK", decode_policy::replace, backend);
      EXPECT_EQ(d.decode(from_hex(chunks[0])), field(v, "icu_after_chunk1")) << field(v, "name");
      std::string second = d.decode(from_hex(chunks[1]));
      second += d.finish();
      EXPECT_EQ(second, field(v, "icu_after_chunk2")) << field(v, "name");
      // Decoding each read on its own, as the tutorial did, garbles exactly these.
      std::string naive;
      for (const auto& c : chunks) {
        decoder fresh("GBK", decode_policy::replace, backend);
        naive += fresh.decode(from_hex(c));
        naive += fresh.finish();
      }
      EXPECT_EQ(naive, field(v, "naive_per_chunk_utf8")) << field(v, "name");
    }
  }
  EXPECT_GT(seen, 0);
}

TEST_F(gbk_vectors, strict_decode_fails_exactly_where_icu_stops) {
  for (const auto& v : all()) {
    if (field(v, "direction") == "encode") continue;
    const std::string bytes = from_hex(field(v, "bytes_hex"));
    const std::string stop = field(v, "icu_stop_error");
    for (auto backend : backends) {
      decoder d("GBK", decode_policy::strict, backend);
      std::string out;
      std::error_code decode_ec, finish_ec;
      d.decode(bytes, out, decode_ec);
      if (!decode_ec) d.finish(out, finish_ec);
      if (!has(v, "icu_stop_error")) {
        EXPECT_FALSE(decode_ec || finish_ec) << field(v, "name") << ": " << d.last_error().message;
        EXPECT_EQ(to_hex(out), field(v, "utf8_hex")) << field(v, "name");
        continue;
      }
      // A truncated sequence is only known at the end of the stream.
      if (stop == "U_TRUNCATED_CHAR_FOUND") {
        EXPECT_FALSE(decode_ec) << field(v, "name");
        EXPECT_EQ(finish_ec, text_errc::invalid_input) << field(v, "name");
      } else {
        EXPECT_EQ(decode_ec, text_errc::invalid_input) << field(v, "name");
      }
      const text_error_info& e = d.last_error();
      ASSERT_NE(e.offset, text_error_info::no_offset) << field(v, "name");
      ASSERT_LT(e.offset, bytes.size()) << field(v, "name");
      // Text before the error is the replace output up to its first U+FFFD, and it is
      // exactly what the bytes before the offset decode to.
      const std::string replaced = field(v, "utf8");
      EXPECT_EQ(out, replaced.substr(0, replaced.find("\xEF\xBF\xBD"))) << field(v, "name");
      decoder prefix("GBK", decode_policy::strict, backend);
      EXPECT_EQ(prefix.decode(bytes.substr(0, e.offset)) + prefix.finish(), out);
      EXPECT_NE(e.message.find("offset " + std::to_string(e.offset)), std::string::npos)
          << e.message;
    }
  }
}

TEST_F(gbk_vectors, strict_encode_of_roundtrip_text_gives_the_bytes) {
  for (const auto& v : all()) {
    if (field(v, "direction") != "roundtrip") continue;
    encoder e("GBK");
    EXPECT_EQ(to_hex(e.encode(field(v, "utf8"))), field(v, "bytes_hex")) << field(v, "name");
  }
}

TEST_F(gbk_vectors, replace_encode_matches_icu_record) {
  for (const auto& v : all()) {
    if (field(v, "direction") != "encode") continue;
    encoder e("GBK", encode_policy::replace);
    EXPECT_EQ(to_hex(e.encode(field(v, "utf8"))), field(v, "bytes_hex")) << field(v, "name");
  }
}

TEST_F(gbk_vectors, strict_encode_reports_every_substituted_or_dropped_character) {
  static const std::regex dropped(R"(dropped default-ignorable (U\+[0-9A-F]+))");
  for (const auto& v : all()) {
    if (field(v, "direction") != "encode") continue;
    const std::string text = field(v, "utf8");
    const std::string record = field(v, "icu_default");
    encoder e("GBK");
    std::error_code ec;
    const std::string bytes = e.encode(text, ec);
    if (record == "no substitution") {
      EXPECT_FALSE(ec) << field(v, "name");
      EXPECT_EQ(to_hex(bytes), field(v, "bytes_hex"));
      continue;
    }
    ASSERT_EQ(ec, text_errc::unmappable_character) << field(v, "name");
    EXPECT_TRUE(bytes.empty());
    const text_error_info& info = e.last_error();
    // The reported character is really at the reported place...
    ASSERT_LT(info.offset, text.size());
    decoder utf8("UTF-8", decode_policy::strict);
    const std::string at = text.substr(info.offset, info.length);
    EXPECT_EQ(utf8.decode(at), at);
    // ...everything before it encodes, and it alone does not.
    encoder check("GBK");
    std::error_code prefix_ec, alone_ec;
    check.encode(text.substr(0, info.offset), prefix_ec);
    EXPECT_FALSE(prefix_ec) << field(v, "name");
    check.encode(at, alone_ec);
    EXPECT_EQ(alone_ec, text_errc::unmappable_character) << field(v, "name");
    EXPECT_EQ(check.last_error().code_point, info.code_point);
    char name[16];
    std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(info.code_point));
    EXPECT_NE(info.message.find(name), std::string::npos) << info.message;
    // When ICU's only change was a silent drop, that dropped character is the one named.
    std::smatch m;
    if (record.find("'?'") == std::string::npos && std::regex_search(record, m, dropped)) {
      EXPECT_EQ(std::string(name), m[1].str()) << field(v, "name");
    }
  }
}

}  // namespace
}  // namespace xsock
