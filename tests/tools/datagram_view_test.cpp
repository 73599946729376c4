// The tools' UDP mode, tested directly: a datagram decoded on its own (a character cut
// at its end shown as escapes, never carried into the next), its text and JSON events,
// the bounded list of recent peers, the size limits, and the UDP console's targets.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "datagram_view.hpp"
#include "udp_console.hpp"
#include "xsock/datagram_socket.hpp"

namespace xsock::tools {
namespace {

const std::chrono::system_clock::time_point some_time{std::chrono::seconds(1800000000)};

std::string shown(const datagram_format& format, datagram_decoder& decoder, std::string_view peer,
                  std::string_view bytes, bool truncated = false) {
  std::string out;
  format_datagram(format, decoder, peer, bytes, truncated, some_time, out);
  return out;
}

TEST(DatagramView, GbkTextWithItsSenderAndTheLineEndDropped) {
  datagram_decoder decoder("GBK");
  const datagram_format text;
  EXPECT_EQ(shown(text, decoder, "127.0.0.1:5000", "\xc4\xe3\xba\xc3\n"),
            "[127.0.0.1:5000] \xe4\xbd\xa0\xe5\xa5\xbd\n");
  EXPECT_EQ(shown(text, decoder, "[::1]:5000", "hi\r\n"), "[[::1]:5000] hi\n");
  // The client shows replies without a sender.
  EXPECT_EQ(shown(text, decoder, "", "ok"), "ok\n");
  // Only the one line end at the end goes; others are escaped.
  EXPECT_EQ(shown(text, decoder, "", "a\nb\n\n"), "a\\x0ab\\x0a\n");
}

TEST(DatagramView, AnEmptyDatagramIsAnEvent) {
  datagram_decoder decoder("GBK");
  datagram_format json;
  json.json = true;
  EXPECT_EQ(shown(datagram_format(), decoder, "127.0.0.1:5000", ""), "[127.0.0.1:5000] \n");
  EXPECT_EQ(shown(json, decoder, "127.0.0.1:5000", ""),
            "{\"event\":\"data\",\"peer\":\"127.0.0.1:5000\",\"text\":\"\",\"invalid\":0,"
            "\"bytes\":0}\n");
}

TEST(DatagramView, ACharacterCutAtTheEndIsShownAsBytesAndNotCarriedOver) {
  datagram_decoder decoder("GBK");
  datagram_format json;
  json.json = true;
  EXPECT_EQ(shown(datagram_format(), decoder, "127.0.0.1:5000", "ab\xc4"),
            "[127.0.0.1:5000] ab\\xc4\n");
  // The next datagram starts clean: its byte is not taken as the rest of the 0xc4
  // (0xc4 0xe3 is a character), it is a character's start cut short again.
  EXPECT_EQ(shown(datagram_format(), decoder, "127.0.0.1:5000", "\xe3"),
            "[127.0.0.1:5000] \\xe3\n");
  EXPECT_EQ(shown(json, decoder, "127.0.0.1:5000", "ab\xc4"),
            "{\"event\":\"data\",\"peer\":\"127.0.0.1:5000\",\"text\":\"ab\",\"invalid\":0,"
            "\"incomplete\":\"c4\",\"bytes\":3}\n");
  // Whole, the two bytes are one character.
  EXPECT_EQ(shown(json, decoder, "127.0.0.1:5000", "\xc4\xe3"),
            "{\"event\":\"data\",\"peer\":\"127.0.0.1:5000\",\"text\":\"\xe4\xbd\xa0\","
            "\"invalid\":0,\"bytes\":2}\n");
}

TEST(DatagramView, HexJsonTimestampsAndTruncation) {
  datagram_decoder decoder("GBK");
  datagram_format hex;
  hex.hex = true;
  EXPECT_EQ(shown(hex, decoder, "127.0.0.1:5000", "\x01\x03\n"), "[127.0.0.1:5000] 01030a\n");
  EXPECT_EQ(shown(hex, decoder, "127.0.0.1:5000", "ab", true),
            "[127.0.0.1:5000] 6162 (truncated)\n");
  datagram_format json;
  json.json = true;
  json.hex = true;
  json.timestamps = true;
  EXPECT_EQ(shown(json, decoder, "127.0.0.1:5000", "\x01", true),
            "{\"event\":\"data\",\"ts\":\"2027-01-15T08:00:00.000Z\",\"peer\":\"127.0.0.1:5000\","
            "\"hex\":\"01\",\"bytes\":1,\"truncated\":true}\n");
}

TEST(DatagramView, ControlCharactersEscapedUnlessRaw) {
  datagram_decoder decoder("UTF-8");
  datagram_format raw;
  raw.raw = true;
  EXPECT_EQ(shown(datagram_format(), decoder, "", "\x1b[31mred"), "\\x1b[31mred\n");
  EXPECT_EQ(shown(raw, decoder, "", "\x1b[31mred"), "\x1b[31mred\n");
  datagram_format json;
  json.json = true;
  EXPECT_EQ(shown(json, decoder, "p", "\x1b"),
            "{\"event\":\"data\",\"peer\":\"p\",\"text\":\"\\u001b\",\"invalid\":0,\"bytes\":1}\n");
}

TEST(DatagramView, LineEndsAsLineEndSays) {
  datagram_decoder decoder("UTF-8");
  datagram_format f;
  f.how = framing::cr;
  EXPECT_EQ(shown(f, decoder, "", "OK\r"), "OK\n");
  EXPECT_EQ(shown(f, decoder, "", "OK\n"), "OK\\x0a\n");
  f.how = framing::crlf;
  EXPECT_EQ(shown(f, decoder, "", "OK\n"), "OK\\x0a\n");
  EXPECT_EQ(shown(f, decoder, "", "OK\r\n"), "OK\n");
  f.how = framing::any;
  EXPECT_EQ(shown(f, decoder, "", "OK\r"), "OK\n");
}

TEST(DatagramView, Utf16DatagramsEachWithTheirByteOrderMark) {
  datagram_decoder decoder("UTF-16");
  EXPECT_EQ(shown(datagram_format(), decoder, "", std::string("\xff\xfeh\0i\0", 6)), "hi\n");
  EXPECT_EQ(shown(datagram_format(), decoder, "", std::string("\xfe\xff\0h\0i", 6)), "hi\n");
}

TEST(DatagramLimit, ByFamily) {
  EXPECT_EQ(datagram_limit(endpoint::loopback_v4(1)), max_datagram_v4);
  EXPECT_EQ(datagram_limit(endpoint::loopback_v6(1)), max_datagram_v6);
  EXPECT_EQ(datagram_limit(endpoint::parse("[::ffff:127.0.0.1]:1")), max_datagram_v4);
  EXPECT_EQ(oversize_message(70000, endpoint::loopback_v4(1)),
            "datagram of 70000 bytes is over the limit of 65507 (IPv4)");
  EXPECT_EQ(oversize_message(70000, endpoint::loopback_v6(1)),
            "datagram of 70000 bytes is over the limit of 65527 (IPv6)");
}

TEST(PeerList, MostRecentFirstCountedAndBounded) {
  peer_list peers(3);
  endpoint last;
  EXPECT_FALSE(peers.last(last));
  EXPECT_EQ(peers.text(some_time), "no datagram received yet\n");
  for (std::uint16_t port = 1; port <= 4; ++port)
    peers.seen(endpoint::loopback_v4(port), port, some_time);
  ASSERT_EQ(peers.recent().size(), 3u);  // port 1, heard from longest ago, is gone
  EXPECT_EQ(peers.recent()[0].peer.port(), 4);
  EXPECT_EQ(peers.recent()[2].peer.port(), 2);
  peers.seen(endpoint::loopback_v4(2), 10, some_time + std::chrono::seconds(5));
  ASSERT_TRUE(peers.last(last));
  EXPECT_EQ(last, endpoint::loopback_v4(2));
  EXPECT_EQ(peers.recent()[0].datagrams, 2u);
  EXPECT_EQ(peers.recent()[0].bytes, 12u);
  const std::string text = peers.text(some_time + std::chrono::seconds(7));
  EXPECT_EQ(text.substr(0, text.find(" last at")), "127.0.0.1:2  2 datagrams, 12 bytes,");
  EXPECT_NE(text.find("(2 s ago)\n127.0.0.1:4  1 datagram, 4 bytes,"), std::string::npos) << text;
}

struct sent_datagram {
  endpoint to;
  std::string wire;
  std::string shown;
  bool hex;
};

struct fake_socket {
  std::vector<sent_datagram> sent;
  udp_console::send_hook hook() {
    return [this](const endpoint& to, std::string_view wire, std::string_view shown, bool hex,
                  std::string&) {
      sent.push_back({to, std::string(wire), std::string(shown), hex});
      return true;
    };
  }
};

TEST(UdpConsole, ALineGoesToTheLastSenderOnlyOnceThereIsOne) {
  peer_list peers;
  fake_socket socket;
  udp_console console("GBK", "\n", peers, socket.hook());
  console.execute("hello", 1);
  EXPECT_TRUE(socket.sent.empty());  // nobody to send to yet
  peers.seen(endpoint::loopback_v4(5000), 1, some_time);
  peers.seen(endpoint::loopback_v6(5001), 1, some_time);
  console.execute("\xe4\xbd\xa0\xe5\xa5\xbd", 2);  // 你好
  ASSERT_EQ(socket.sent.size(), 1u);
  EXPECT_EQ(socket.sent[0].to, endpoint::loopback_v6(5001));
  EXPECT_EQ(socket.sent[0].wire, "\xc4\xe3\xba\xc3\n");
  console.execute("//x", 3);
  ASSERT_EQ(socket.sent.size(), 2u);
  EXPECT_EQ(socket.sent[1].wire, "/x\n");
}

TEST(UdpConsole, ToAndHexTakeAnAddressAndPort) {
  peer_list peers;
  fake_socket socket;
  udp_console console("GBK", "\r\n", peers, socket.hook());
  console.execute("/to 127.0.0.1:7000 hi there", 1);
  console.execute("/to [::1]:7001 x", 2);
  console.execute("/hex 127.0.0.1:7002 01 ff", 3);
  console.execute("/hex last 01", 4);            // no last sender: nothing
  console.execute("/to nowhere hi", 5);          // not ADDR:PORT: nothing
  console.execute("/to 127.0.0.1:0 hi", 6);      // port 0: nothing
  console.execute("/hex 127.0.0.1:7002 0g", 7);  // bad hex: nothing
  console.execute("/list", 8);
  console.execute("/nope", 9);
  ASSERT_EQ(socket.sent.size(), 3u);
  EXPECT_EQ(socket.sent[0].to, endpoint::loopback_v4(7000));
  EXPECT_EQ(socket.sent[0].wire, "hi there\r\n");
  EXPECT_EQ(socket.sent[0].shown, "hi there");
  EXPECT_EQ(socket.sent[1].to, endpoint::loopback_v6(7001));
  EXPECT_EQ(socket.sent[2].wire, "\x01\xff");
  EXPECT_TRUE(socket.sent[2].hex);
}

TEST(UdpConsole, RefusesWhatTheEncodingLacksAndOversizeDatagrams) {
  peer_list peers;
  fake_socket socket;
  udp_console console("GBK", "", peers, socket.hook());
  console.execute("/to 127.0.0.1:7000 \xf0\x9f\x98\x80", 1);  // an emoji: not in GBK
  console.execute("/to 127.0.0.1:7000 " + std::string(max_datagram_v4 + 1, 'a'), 2);
  console.execute("/to 127.0.0.1:7000 " + std::string(max_datagram_v4, 'a'), 3);
  ASSERT_EQ(socket.sent.size(), 1u);
  EXPECT_EQ(socket.sent[0].wire.size(), max_datagram_v4);
}

}  // namespace
}  // namespace xsock::tools
