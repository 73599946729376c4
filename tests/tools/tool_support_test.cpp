// tools/common: the option transforms, hex and JSON formatting, encodings and the
// exit-status mapping both tools share (the contract's building blocks, tested directly).
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "escape_scan.hpp"
#include "stream_lines.hpp"
#include "tool_support.hpp"
#include "tool_tls.hpp"

namespace xsock::tools {
namespace {

// Parses "--v VALUE" through the transform; returns what the option received.
template <typename T>
T parse_value(const CLI::Validator& check, const std::string& value) {
  CLI::App app;
  T out{};
  app.add_option("--v", out)->transform(check);
  app.parse("--v " + value, false);
  return out;
}

TEST(ToolTls, AlpnListSplitsOnCommas) {
  std::vector<std::string> names;
  std::string error;
  ASSERT_TRUE(split_alpn("h2,http/1.1", names, error));
  EXPECT_EQ(names, (std::vector<std::string>{"h2", "http/1.1"}));
  ASSERT_TRUE(split_alpn(std::string(255, 'x'), names, error));
  EXPECT_EQ(names.size(), 1U);
}

TEST(ToolTls, AlpnRefusesEmptyAndLongNames) {
  std::vector<std::string> names;
  std::string error;
  for (const char* list : {"", ",", "h2,", ",h2", "a,,b"}) {
    EXPECT_FALSE(split_alpn(list, names, error)) << list;
    EXPECT_NE(error.find("empty protocol name"), std::string::npos) << error;
  }
  EXPECT_FALSE(split_alpn("h2," + std::string(256, 'x'), names, error));
  EXPECT_EQ(error, "protocol name of 256 bytes (at most 255)");
}

// Parses a server's or a client's TLS options; returns check_tls_options's verdict.
std::string tls_verdict(tls_end end, const std::string& line, bool udp = false) {
  CLI::App app;
  tls_options tls;
  add_tls_options(app, tls, end);
  app.parse(line, false);
  return check_tls_options(app, tls, end, udp);
}

TEST(ToolTls, OptionsWithoutTlsAreUsageErrors) {
  EXPECT_EQ(tls_verdict(tls_end::server, ""), "");
  EXPECT_EQ(tls_verdict(tls_end::server, "--cert c.pem"), "--cert needs --tls (see --help)");
  EXPECT_EQ(tls_verdict(tls_end::client, "--insecure"), "--insecure needs --tls (see --help)");
  EXPECT_EQ(tls_verdict(tls_end::client, "--sni a.b"), "--sni needs --tls (see --help)");
}

TEST(ToolTls, TlsChecks) {
  if (!tls_built()) {
    EXPECT_NE(tls_verdict(tls_end::client, "--tls").find("built without TLS"), std::string::npos);
    return;
  }
  EXPECT_EQ(tls_verdict(tls_end::client, "--tls --ca ca.pem --sni a.b --alpn h2"), "");
  EXPECT_EQ(tls_verdict(tls_end::server, "--tls --cert c --key k --alpn h2,x"), "");
  EXPECT_NE(
      tls_verdict(tls_end::server, "--tls --cert c").find("--tls needs --cert FILE and --key"),
      std::string::npos);
  EXPECT_NE(tls_verdict(tls_end::client, "--tls", true).find("does not apply to --udp"),
            std::string::npos);
  EXPECT_NE(tls_verdict(tls_end::client, "--tls --insecure --ca x").find("cannot be used together"),
            std::string::npos);
  EXPECT_EQ(tls_verdict(tls_end::client, "--tls --alpn a,,b"),
            "--alpn: empty protocol name in 'a,,b'");
}

TEST(DecimalInteger, LeadingZerosMeanDecimal) {
  EXPECT_EQ(parse_value<int>(decimal_integer(1, 65535), "010"), 10);
  EXPECT_EQ(parse_value<int>(decimal_integer(1, 65535), "65535"), 65535);
}

TEST(DecimalInteger, RefusesHexExponentAndRange) {
  const CLI::Validator port = decimal_integer(1, 65535);
  EXPECT_THROW(parse_value<int>(port, "0x10"), CLI::ValidationError);
  EXPECT_THROW(parse_value<int>(port, "1e3"), CLI::ValidationError);
  EXPECT_THROW(parse_value<int>(port, "0"), CLI::ValidationError);
  EXPECT_THROW(parse_value<int>(port, "65536"), CLI::ValidationError);
  EXPECT_THROW(parse_value<int>(port, "-1"), CLI::ValidationError);
}

TEST(DecimalDuration, SecondsBecomeWholeMillisecondsRoundedUp) {
  const CLI::Validator sec = decimal_duration(time_unit::seconds, false);
  EXPECT_EQ(parse_value<std::int64_t>(sec, "2"), 2000);
  EXPECT_EQ(parse_value<std::int64_t>(sec, "0.5"), 500);
  EXPECT_EQ(parse_value<std::int64_t>(sec, ".25"), 250);
  EXPECT_EQ(parse_value<std::int64_t>(sec, "0.0004"), 1);
  EXPECT_EQ(parse_value<std::int64_t>(sec, "0"), 0);
}

TEST(DecimalDuration, HugeValuesSaturate) {
  const CLI::Validator sec = decimal_duration(time_unit::seconds, false);
  EXPECT_EQ(parse_value<std::int64_t>(sec, "99999999999999999999"), max_duration.count());
}

TEST(DecimalDuration, RefusesSignsNanAndZeroWhenPositive) {
  const CLI::Validator sec = decimal_duration(time_unit::seconds, false);
  EXPECT_THROW(parse_value<std::int64_t>(sec, "-1"), CLI::ValidationError);
  EXPECT_THROW(parse_value<std::int64_t>(sec, "nan"), CLI::ValidationError);
  EXPECT_THROW(parse_value<std::int64_t>(sec, "1e3"), CLI::ValidationError);
  EXPECT_THROW(parse_value<std::int64_t>(decimal_duration(time_unit::seconds, true), "0"),
               CLI::ValidationError);
}

TEST(Hex, FormatsLowerCase) {
  EXPECT_EQ(to_hex("\xc4\xe3\x01"), "c4e301");
  EXPECT_EQ(to_hex(""), "");
}

TEST(Hex, ParsesWithSpacesAndEitherCase) {
  std::string bytes;
  std::string error;
  ASSERT_TRUE(parse_hex("c4 E3\t01", bytes, error)) << error;
  EXPECT_EQ(bytes, "\xc4\xe3\x01");
}

TEST(Hex, SaysWhatIsWrong) {
  std::string bytes;
  std::string error;
  EXPECT_FALSE(parse_hex("c4e", bytes, error));
  EXPECT_EQ(error, "odd number of hex digits");
  EXPECT_FALSE(parse_hex("c4xe", bytes, error));
  EXPECT_NE(error.find("'x' is not a hex digit"), std::string::npos) << error;
}

// Every scan of escape_scan.hpp finds what the portable one finds: each byte value at
// each position of a block of plain text, and random blocks, for both targets.
template <tools::detail::escape_target Target>
void expect_scans_agree() {
  using scan = const unsigned char* (*)(const unsigned char*, const unsigned char*) noexcept;
  std::vector<std::pair<const char*, scan>> all{{"best", &tools::detail::next_candidate<Target>}};
#if defined(XSOCK_TOOLS_SSE2)
  all.emplace_back("sse2", &tools::detail::next_candidate_sse2<Target>);
#endif
  const auto check = [&](const std::vector<unsigned char>& block) {
    const unsigned char* begin = block.data();
    const unsigned char* end = begin + block.size();
    const unsigned char* want = tools::detail::next_candidate_portable<Target>(begin, end);
    for (const auto& [name, fn] : all)
      ASSERT_EQ(fn(begin, end) - begin, want - begin) << name;
  };
  for (int b = 0; b < 256; ++b) {
    for (std::size_t at = 0; at < 40; ++at) {
      std::vector<unsigned char> block(40, 'a');
      block[at] = static_cast<unsigned char>(b);
      check(block);
    }
  }
  std::mt19937 random(22);
  for (int i = 0; i < 20000; ++i) {
    std::vector<unsigned char> block(random() % 70);
    for (auto& byte : block)
      byte = static_cast<unsigned char>(random() % 8 == 0 ? random() % 256 : 0x20 + random() % 95);
    check(block);
  }
}

TEST(EscapeScan, EveryScanAgreesWithThePortableOne) {
  expect_scans_agree<tools::detail::escape_target::terminal>();
  expect_scans_agree<tools::detail::escape_target::json>();
}

TEST(Json, EscapesQuotesControlsAndBidi) {
  std::string out;
  append_json_string(out, "a\"b\\c\x01\xe2\x80\xae");  // U+202E: right-to-left override
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\u0001\\u202e\"");
}

TEST(Json, KeepsPlainText) {
  std::string out;
  append_json_string(out, "\xe4\xbd\xa0\xe5\xa5\xbd");  // 你好
  EXPECT_EQ(out, "\"\xe4\xbd\xa0\xe5\xa5\xbd\"");
}

TEST(Host, BracketsOfAnIpv6LiteralGo) {
  EXPECT_EQ(unbracketed_host("[::1]"), "::1");
  EXPECT_EQ(unbracketed_host("example.com"), "example.com");
  EXPECT_EQ(unbracketed_host("127.0.0.1"), "127.0.0.1");
}

TEST(LineEnd, NamesAndFraming) {
  framing how = framing::packets;
  EXPECT_TRUE(parse_line_end("crlf", how));
  EXPECT_EQ(how, framing::crlf);
  EXPECT_TRUE(parse_line_end("any", how));
  EXPECT_EQ(how, framing::any);
  EXPECT_FALSE(parse_line_end("CRLF\n", how));
  view_options view;
  EXPECT_EQ(view.how(), framing::lf);
  view.packets = true;
  EXPECT_EQ(view.how(), framing::packets);
}

TEST(Encoding, PreferredNameOrUsageError) {
  EXPECT_EQ(checked_encoding("utf-8"), "UTF-8");
  try {
    checked_encoding("no-such-encoding");
    FAIL() << "an unknown encoding was accepted";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown encoding 'no-such-encoding'"), std::string::npos)
        << e.what();
  }
}

TEST(Encoding, ToUtf8ReplacesInvalidBytes) {
  EXPECT_EQ(to_utf8("\xc4\xe3", "GBK"), "\xe4\xbd\xa0");
  EXPECT_EQ(to_utf8("a\xff", "UTF-8"), "a\xef\xbf\xbd");
}

TEST(GuardedMain, ExceptionsBecomeExitStatuses) {
  EXPECT_EQ(guarded_main("t", [] { return 7; }), 7);
  EXPECT_EQ(guarded_main("t", []() -> int { throw usage_error("bad option"); }), exit_usage);
  EXPECT_EQ(guarded_main("t", []() -> int { throw std::runtime_error("refused"); }), exit_failure);
}

TEST(CommandLine, UsageErrorIsTwoHelpIsZero) {
  CLI::App app("test", "t");
  int n = 0;
  app.add_option("-n", n);
  EXPECT_EQ(parse_command_line(app, "t", {"t", "-n", "3"}), -1);
  EXPECT_EQ(n, 3);
  CLI::App bad("test", "t");
  EXPECT_EQ(parse_command_line(bad, "t", {"t", "--nope"}), exit_usage);
}

TEST(Version, NamesTheProgram) {
  EXPECT_EQ(version_line("xsock-client").rfind("xsock-client ", 0), 0u);
}

}  // namespace
}  // namespace xsock::tools
