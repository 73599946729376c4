// The lookup-table decoder must be indistinguishable from ICU's converter: same text,
// same counts, same strict errors at the same offsets, for every one- and two-byte
// input and for random streams cut at random points.
#include <gtest/gtest.h>

#include <cctype>

#include "test_support.hpp"
#include "xsock/decoder.hpp"

namespace xsock {
namespace {

using test::to_hex;

// The converters that have a fast path (each proven here).
const char* const fast_encodings[] = {"GBK", "Big5", "Shift_JIS", "EUC-KR"};

// Everything a decoder reports for one stream, continuing after each strict error.
struct transcript {
  std::string text;
  std::vector<std::uint64_t> error_offsets;
  std::vector<std::uint32_t> error_lengths;
  std::uint64_t invalid = 0;
  std::uint64_t invalid_bytes = 0;

  bool operator==(const transcript& o) const {
    return text == o.text && error_offsets == o.error_offsets && error_lengths == o.error_lengths &&
           invalid == o.invalid && invalid_bytes == o.invalid_bytes;
  }
};

std::ostream& operator<<(std::ostream& os, const transcript& t) {
  os << "text=" << to_hex(t.text) << " invalid=" << t.invalid << "/" << t.invalid_bytes
     << " errors@";
  for (auto o : t.error_offsets)
    os << o << " ";
  return os;
}

transcript run(decoder& d, std::string_view bytes, const std::vector<std::size_t>& cuts) {
  transcript t;
  std::error_code ec;
  auto note = [&] {
    t.error_offsets.push_back(d.last_error().offset);
    t.error_lengths.push_back(d.last_error().length);
  };
  std::size_t at = 0;
  auto feed = [&](std::string_view piece) {
    d.decode(piece, t.text, ec);
    // After a strict error the rest of the piece is kept: go on with no new input.
    for (int guard = 0; ec && guard < 100000; ++guard) {
      note();
      d.decode({}, t.text, ec);
    }
  };
  for (std::size_t cut : cuts) {
    feed(bytes.substr(at, cut - at));
    at = cut;
  }
  feed(bytes.substr(at));
  d.finish(t.text, ec);
  for (int guard = 0; ec && guard < 100000; ++guard) {
    note();
    d.finish(t.text, ec);
  }
  t.invalid = d.invalid_count();
  t.invalid_bytes = d.invalid_bytes();
  return t;
}

class fast_path : public ::testing::TestWithParam<const char*> {};

TEST_P(fast_path, is_active) {
  XSOCK_SKIP_WITHOUT(GetParam());
  EXPECT_TRUE(decoder(GetParam()).uses_fast_path());
}

TEST_P(fast_path, agrees_with_icu_on_every_one_and_two_byte_input) {
  XSOCK_SKIP_WITHOUT(GetParam());
  for (auto policy : {decode_policy::replace, decode_policy::strict}) {
    decoder fast(GetParam(), policy, decoder_backend::automatic);
    decoder icu(GetParam(), policy, decoder_backend::icu);
    ASSERT_TRUE(fast.uses_fast_path());
    int mismatches = 0;
    for (int a = 0; a < 256; ++a) {
      const char one[1] = {static_cast<char>(a)};
      fast.reset();
      icu.reset();
      const transcript f1 = run(fast, std::string_view(one, 1), {});
      const transcript i1 = run(icu, std::string_view(one, 1), {});
      EXPECT_EQ(f1, i1) << GetParam() << " byte " << a;
      for (int b = 0; b < 256 && mismatches < 10; ++b) {
        const char two[2] = {static_cast<char>(a), static_cast<char>(b)};
        const std::string_view in(two, 2);
        fast.reset();
        icu.reset();
        const transcript f = run(fast, in, {});
        const transcript i = run(icu, in, {});
        if (!(f == i)) {
          ++mismatches;
          ADD_FAILURE() << GetParam() << " " << to_hex(in) << " fast: " << f << " icu: " << i;
        }
        // The same pair cut between its bytes.
        fast.reset();
        const transcript fs = run(fast, in, {1});
        if (!(fs == i)) {
          ++mismatches;
          ADD_FAILURE() << GetParam() << " " << to_hex(in) << " cut: " << fs << " icu: " << i;
        }
      }
    }
  }
}

// Bytes that hit every path: ASCII runs, valid pairs, bad trails, lone leads, newlines.
std::string random_stream(std::size_t n) {
  auto& r = test::rng();
  std::uniform_int_distribution<int> kind(0, 9), any(0, 255), lead(0x81, 0xFE), trail(0x40, 0xFE),
      ascii(0x20, 0x7E);
  std::string s;
  while (s.size() < n) {
    switch (kind(r)) {
      case 0:
        s.push_back(static_cast<char>(any(r)));
        break;
      case 1:
        s.push_back('\n');
        break;
      case 2:
      case 3:
      case 4:
        s.push_back(static_cast<char>(ascii(r)));
        break;
      default:
        s.push_back(static_cast<char>(lead(r)));
        s.push_back(static_cast<char>(trail(r)));
        break;
    }
  }
  return s;
}

TEST_P(fast_path, agrees_with_icu_on_random_streams_split_at_random_points) {
  XSOCK_SKIP_WITHOUT(GetParam());
  std::uniform_int_distribution<std::size_t> len(0, 400);
  for (int iter = 0; iter < 300; ++iter) {
    const std::string bytes = random_stream(len(test::rng()));
    const auto cuts = test::random_cuts(bytes.size());
    for (auto policy : {decode_policy::replace, decode_policy::strict}) {
      decoder fast(GetParam(), policy, decoder_backend::automatic);
      decoder icu(GetParam(), policy, decoder_backend::icu);
      decoder icu_split(GetParam(), policy, decoder_backend::icu);
      const transcript whole = run(icu, bytes, {});
      EXPECT_EQ(run(fast, bytes, cuts), whole)
          << GetParam() << " seed " << test::seed() << " input " << to_hex(bytes);
      EXPECT_EQ(run(icu_split, bytes, cuts), whole) << GetParam() << " " << to_hex(bytes);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(text, fast_path, ::testing::ValuesIn(fast_encodings),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace xsock
