// xsock-client's parts tested directly: option checks (exit status 2 and its
// message), the --reconnect backoff, -m conversion, and the reply views.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "client_options.hpp"
#include "client_session.hpp"
#include "input_reader.hpp"
#include "reply_printer.hpp"
#include "xsock/encodings.hpp"

namespace xsock::tools::client {
namespace {

int parse(std::vector<std::string> args, config& cfg) {
  args.insert(args.begin(), "xsock-client");
  return parse_options(args, cfg);
}

int parse(std::vector<std::string> args) {
  config cfg;
  return parse(std::move(args), cfg);
}

TEST(ClientOptions, HostAndPortWithDefaults) {
  config cfg;
  ASSERT_EQ(parse({"127.0.0.1", "7788"}, cfg), -1);
  EXPECT_EQ(cfg.host, "127.0.0.1");
  EXPECT_EQ(cfg.port, 7788);
  EXPECT_EQ(cfg.encoding, "GBK");
  EXPECT_EQ(cfg.timeout_ms, 10000);
  EXPECT_EQ(cfg.wait_ms, 2000);
  EXPECT_EQ(cfg.reconnect_ms, -1);
  EXPECT_EQ(cfg.how, framing::lf);
}

TEST(ClientOptions, MessagesLeaveHostAndPortToPositionals) {
  config cfg;
  ASSERT_EQ(parse({"-m", "hi", "-m", "there", "localhost", "9000"}, cfg), -1);
  EXPECT_EQ(cfg.messages, (std::vector<std::string>{"hi", "there"}));
  EXPECT_EQ(cfg.host, "localhost");
  EXPECT_EQ(cfg.port, 9000);
}

TEST(ClientOptions, HostAndPortRequired) {
  EXPECT_EQ(parse({}), exit_usage);
  EXPECT_EQ(parse({"127.0.0.1"}), exit_usage);
}

TEST(ClientOptions, PortRange) {
  EXPECT_EQ(parse({"h", "0"}), exit_usage);
  EXPECT_EQ(parse({"h", "65536"}), exit_usage);
  EXPECT_EQ(parse({"h", "65535"}), -1);
}

TEST(ClientOptions, FileAndMessagesExcludeEachOther) {
  EXPECT_EQ(parse({"--file", "x.bin", "-m", "hi", "h", "1"}), exit_usage);
  EXPECT_EQ(parse({"--file", "", "h", "1"}), exit_usage);
  EXPECT_EQ(parse({"--file", "x.bin", "h", "1"}), -1);
}

TEST(ClientOptions, RepeatAndIntervalNeedMessages) {
  EXPECT_EQ(parse({"--repeat", "3", "h", "1"}), exit_usage);
  EXPECT_EQ(parse({"--interval", "0.5", "h", "1"}), exit_usage);
  config cfg;
  ASSERT_EQ(parse({"--repeat", "0", "--interval", "0.5", "-m", "p", "h", "1"}, cfg), -1);
  EXPECT_EQ(cfg.repeat, 0u);
  EXPECT_EQ(cfg.interval_ms, 500);
}

TEST(ClientOptions, ReconnectValueAndFloor) {
  config cfg;
  ASSERT_EQ(parse({"--reconnect", "h", "1"}, cfg), -1);
  EXPECT_EQ(cfg.reconnect_ms, 1000);  // the bare flag: 1 s
  EXPECT_EQ(cfg.host, "h");
  config half;
  ASSERT_EQ(parse({"--reconnect=0.5", "h", "1"}, half), -1);
  EXPECT_EQ(half.reconnect_ms, 500);
  EXPECT_EQ(parse({"--reconnect=0.01", "h", "1"}), exit_usage);
}

TEST(ClientOptions, BackoffNeedsReconnect) {
  EXPECT_EQ(parse({"--backoff", "none", "h", "1"}), exit_usage);
  EXPECT_EQ(parse({"--reconnect", "--backoff", "none", "h", "1"}), -1);
  EXPECT_EQ(parse({"--reconnect", "--backoff", "triple", "h", "1"}), exit_usage);
}

TEST(ClientOptions, EolAndTimeoutChecked) {
  EXPECT_EQ(parse({"--eol", "nul", "h", "1"}), exit_usage);
  EXPECT_EQ(parse({"--timeout", "0", "h", "1"}), exit_usage);
  EXPECT_EQ(parse({"--wait", "0", "h", "1"}), -1);
}

TEST(ClientOptions, ViewOptionsGiveTheFraming) {
  config cfg;
  ASSERT_EQ(parse({"--packets", "h", "1"}, cfg), -1);
  EXPECT_EQ(cfg.how, framing::packets);
  config crlf;
  ASSERT_EQ(parse({"--line-end", "crlf", "h", "1"}, crlf), -1);
  EXPECT_EQ(crlf.how, framing::crlf);
}

TEST(ClientOptions, ReconnectHintOnlyForABareNumber) {
  EXPECT_EQ(reconnect_value_hint({"xsock-client", "--reconnect", "2", "h", "1"}),
            "--reconnect takes its value after '=': --reconnect=2");
  EXPECT_EQ(reconnect_value_hint({"xsock-client", "--reconnect=2", "h", "1"}), "");
  EXPECT_EQ(reconnect_value_hint({"xsock-client", "--reconnect", "host", "1"}), "");
  EXPECT_EQ(reconnect_value_hint({"xsock-client", "--", "--reconnect", "2"}), "");
}

TEST(ClientOptions, EolBytes) {
  EXPECT_EQ(eol_bytes("lf"), "\n");
  EXPECT_EQ(eol_bytes("crlf"), "\r\n");
  EXPECT_EQ(eol_bytes("cr"), "\r");
  EXPECT_EQ(eol_bytes("none"), "");
}

TEST(Backoff, DoublesUpToEightSeconds) {
  config cfg;
  cfg.reconnect_ms = 1000;
  std::int64_t delay = cfg.reconnect_ms;
  std::vector<std::int64_t> seen;
  for (int i = 0; i < 6; ++i)
    seen.push_back(delay = next_backoff_ms(cfg, delay));
  EXPECT_EQ(seen, (std::vector<std::int64_t>{2000, 4000, 8000, 8000, 8000, 8000}));
}

TEST(Backoff, ALongerGivenDelayIsTheCap) {
  config cfg;
  cfg.reconnect_ms = 10000;
  EXPECT_EQ(next_backoff_ms(cfg, 10000), 10000);
  EXPECT_EQ(next_backoff_ms(cfg, 6000), 10000);
}

TEST(Backoff, NoneKeepsTheGivenDelay) {
  config cfg;
  cfg.reconnect_ms = 500;
  cfg.backoff = "none";
  EXPECT_EQ(next_backoff_ms(cfg, 500), 500);
}

TEST(Backoff, SecondsText) {
  EXPECT_EQ(seconds_text(1500), "1.5");
  EXPECT_EQ(seconds_text(2000), "2");
  EXPECT_EQ(seconds_text(50), "0.05");
  EXPECT_EQ(seconds_text(8125), "8.125");
}

TEST(WireText, SignatureOfAStream) {
  EXPECT_EQ(stream_signature("UTF-8"), "");
  EXPECT_EQ(stream_signature("GBK"), "");
  EXPECT_EQ(stream_signature("UTF-16").size(), 2u);  // a byte order mark
}

TEST(WireText, SignatureOfAStatefulEncoding) {
  // The trimmed ICU of the MinGW build has no ISO-2022-KR (UTF-16 above covers it).
  if (!encoding_exists("ISO-2022-KR")) GTEST_SKIP() << "this build's ICU has no ISO-2022-KR";
  EXPECT_EQ(stream_signature("ISO-2022-KR"), "\x1b$)C");
}

TEST(WireText, PrimedEncoderWritesNoSignature) {
  encoder e = primed_encoder("UTF-16");
  std::error_code ec;
  EXPECT_EQ(e.encode("a", ec).size(), 2u);
  EXPECT_FALSE(ec);
}

TEST(WireText, CountsCharactersNotBytes) {
  EXPECT_EQ(count_characters("abc"), 3u);
  EXPECT_EQ(count_characters("\xe4\xbd\xa0\xe5\xa5\xbd"), 2u);  // 你好
  EXPECT_EQ(count_characters(""), 0u);
}

// Why encode_messages refuses cfg's messages: "usage: MESSAGE" (exit 2), "failure:
// MESSAGE" (exit 1), or "" when it converts them.
std::string refusal(const config& cfg, const std::string& wire) {
  try {
    encode_messages(cfg, wire, "\n", "UTF-8");
  } catch (const usage_error& e) {
    return std::string("usage: ") + e.what();
  } catch (const std::runtime_error& e) {
    return std::string("failure: ") + e.what();
  }
  return "";
}

TEST(Messages, EncodedWithTheEolInTheWireEncoding) {
  config cfg;
  cfg.messages = {"\xe4\xbd\xa0\xe5\xa5\xbd", "a"};  // 你好
  const std::vector<std::string> wire = encode_messages(cfg, "GBK", "\r\n", "UTF-8");
  EXPECT_EQ(wire, (std::vector<std::string>{"\xc4\xe3\xba\xc3\r\n", "a\r\n"}));
}

TEST(Messages, HexInputIsSentAsBytes) {
  config cfg;
  cfg.hex_input = true;
  cfg.messages = {"01 03 00"};
  EXPECT_EQ(encode_messages(cfg, "GBK", "\n", "UTF-8"),
            (std::vector<std::string>{std::string("\x01\x03\x00", 3)}));
  cfg.messages = {"01 0"};
  EXPECT_EQ(refusal(cfg, "GBK"), "usage: -m 1 is not hex (--hex-input): odd number of hex digits");
}

TEST(Messages, InvalidArgumentBytesAreAUsageError) {
  config cfg;
  cfg.messages = {"ok", "a\xff"};
  EXPECT_EQ(refusal(cfg, "GBK"), "usage: invalid UTF-8 in -m 2 at byte 2");
}

TEST(Messages, UnmappableCharacterNamesAnEncodingThatHasIt) {
  config cfg;
  cfg.messages = {"ab\xe4\xbd\xa0"};  // ab你: a runtime failure (exit 1), not a usage error
  const std::string what = refusal(cfg, "ISO-8859-1");
  EXPECT_EQ(what.rfind("failure: message 1 not sent: ", 0), 0u) << what;
  EXPECT_NE(what.find("at character 3"), std::string::npos) << what;
  EXPECT_NE(what.find("--encoding GB18030 (or UTF-8) can encode every character"),
            std::string::npos)
      << what;
}

TEST(Messages, EmptyRoundsRepeatedAreRefused) {
  config cfg;
  cfg.messages = {""};
  cfg.repeat = 0;
  EXPECT_THROW(encode_messages(cfg, "GBK", "", "UTF-8"), usage_error);
  cfg.repeat = 1;  // sent once: nothing, and the client ends
  EXPECT_EQ(encode_messages(cfg, "GBK", "", "UTF-8"), (std::vector<std::string>{""}));
}

TEST(Progress, BarPercentAndMebibytes) {
  EXPECT_EQ(progress_bar(40, 1677722, 4194304),
            "\r[############                  ] 40% 1.6/4.0 MiB");
  EXPECT_EQ(progress_bar(100, 4194304, 4194304),
            "\r[##############################] 100% 4.0/4.0 MiB");
}

// Prints through a reply_printer into a string.
struct printed {
  std::string out;
  reply_printer printer;
  printed(const config& cfg, const std::string& wire, const std::string& local = "UTF-8")
      : printer(cfg, wire, local, [this](std::string_view bytes, std::error_code&) {
          out.append(bytes.data(), bytes.size());
          return true;
        }) {}
};

// What a printer of `cfg` shows for `reads` (each what one read returned).
std::string shown(const config& cfg, const std::string& wire, std::vector<std::string> reads,
                  const std::string& local = "UTF-8") {
  printed p(cfg, wire, local);
  std::error_code ec;
  for (const std::string& bytes : reads)
    EXPECT_TRUE(p.printer.print(bytes, ec)) << ec.message();
  return p.out;
}

TEST(ReplyPrinter, DecodesLinesToTheLocalEncoding) {
  EXPECT_EQ(shown(config(), "GBK", {"\xc4\xe3\xba", "\xc3\r\n"}), "\xe4\xbd\xa0\xe5\xa5\xbd\n");
}

TEST(ReplyPrinter, LocalGbkOutput) {
  EXPECT_EQ(shown(config(), "UTF-8", {"\xe4\xbd\xa0\n"}, "GBK"), "\xc4\xe3\n");
}

TEST(ReplyPrinter, AnOpenLineIsShownAtOnceAndEndedAtTheEnd) {
  printed p(config(), "UTF-8");
  std::error_code ec;
  ASSERT_TRUE(p.printer.print("login: ", ec));
  EXPECT_EQ(p.out, "login: ");
  EXPECT_FALSE(p.printer.at_line_start());
  ASSERT_TRUE(p.printer.finish(ec));
  EXPECT_EQ(p.out, "login: \n");
  EXPECT_TRUE(p.printer.at_line_start());
}

TEST(ReplyPrinter, HexView) {
  config cfg;
  cfg.hex = true;
  EXPECT_EQ(shown(cfg, "GBK", {"ab\n", "\xc4"}), "61620a\nc4\n");
}

TEST(ReplyPrinter, ControlCharactersAreEscaped) {
  EXPECT_EQ(shown(config(), "UTF-8", {"\x1b[31mred\n"}), "\\x1b[31mred\n");
}

TEST(ReplyPrinter, PacketsShowEachReadAndHalfACharacter) {
  config cfg;
  cfg.how = framing::packets;
  // 你 cut after its first byte: shown as its byte at once, whole with the next read.
  EXPECT_EQ(shown(cfg, "GBK", {"a\xc4", "\xe3z"}), "a\\xc4\n\xe4\xbd\xa0z\n");
}

TEST(ReplyPrinter, WriteFailureIsReported) {
  config cfg;
  reply_printer printer(cfg, "UTF-8", "UTF-8", [](std::string_view, std::error_code& ec) {
    ec = std::make_error_code(std::errc::broken_pipe);
    return false;
  });
  std::error_code ec;
  EXPECT_FALSE(printer.print("x\n", ec));
  EXPECT_EQ(ec, std::errc::broken_pipe);
}

}  // namespace
}  // namespace xsock::tools::client
