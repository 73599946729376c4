// xsock-server's console commands, run against scripted hooks: which client gets which
// bytes, what is refused (nothing sent), and the per-connection stream start.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server_console.hpp"

namespace xsock::tools {
namespace {

struct sent_bytes {
  std::uint64_t id;
  std::string wire;
  std::string shown;
  bool hex;
};

// A server with `ids` connected that records what the console does.
struct fake_server {
  std::vector<std::uint64_t> ids;
  std::vector<sent_bytes> sent;
  std::vector<std::uint64_t> kicked;

  server_console::hooks hooks() {
    server_console::hooks h;
    h.clients = [this] {
      std::vector<console_client> now;
      for (const std::uint64_t id : ids)
        now.push_back({id, "127.0.0.1:" + std::to_string(40000 + id), 0, 0,
                       std::chrono::system_clock::now()});
      return now;
    };
    h.send = [this](std::uint64_t id, std::string_view wire, std::string_view shown, bool hex,
                    std::string&) {
      sent.push_back({id, std::string(wire), std::string(shown), hex});
      return true;
    };
    h.kick = [this](std::uint64_t id) {
      kicked.push_back(id);
      for (const std::uint64_t known : ids)
        if (known == id) return true;
      return false;
    };
    return h;
  }
};

TEST(ServerConsole, ALineGoesToEveryClientInTheWireEncoding) {
  fake_server server{{1, 2}, {}, {}};
  server_console console("GBK", "\n", server.hooks());
  console.execute("\xe4\xbd\xa0\xe5\xa5\xbd", 1);  // 你好
  ASSERT_EQ(server.sent.size(), 2u);
  EXPECT_EQ(server.sent[0].id, 1u);
  EXPECT_EQ(server.sent[1].id, 2u);
  EXPECT_EQ(server.sent[0].wire, "\xc4\xe3\xba\xc3\n");
  EXPECT_EQ(server.sent[0].shown, "\xe4\xbd\xa0\xe5\xa5\xbd");
  EXPECT_FALSE(server.sent[0].hex);
}

TEST(ServerConsole, DoubleSlashSendsALineStartingWithSlash) {
  fake_server server{{1}, {}, {}};
  server_console console("UTF-8", "\r\n", server.hooks());
  console.execute("//list", 1);
  ASSERT_EQ(server.sent.size(), 1u);
  EXPECT_EQ(server.sent[0].wire, "/list\r\n");
}

TEST(ServerConsole, ToSendsToOneClient) {
  fake_server server{{1, 2, 3}, {}, {}};
  server_console console("UTF-8", "\n", server.hooks());
  console.execute("/to 2 hello there", 1);
  ASSERT_EQ(server.sent.size(), 1u);
  EXPECT_EQ(server.sent[0].id, 2u);
  EXPECT_EQ(server.sent[0].wire, "hello there\n");
}

TEST(ServerConsole, HexSendsRawBytes) {
  fake_server server{{4, 5}, {}, {}};
  server_console console("GBK", "\n", server.hooks());
  console.execute("/hex all 01 ff", 1);
  console.execute("/hex 5 0a", 2);
  ASSERT_EQ(server.sent.size(), 3u);
  EXPECT_EQ(server.sent[0].wire, "\x01\xff");  // no line end: exactly the bytes
  EXPECT_TRUE(server.sent[0].hex);
  EXPECT_EQ(server.sent[2].id, 5u);
  EXPECT_EQ(server.sent[2].wire, "\n");
}

// True when none of `lines`, `ids` connected, sends or kicks anything.
bool sends_nothing(std::vector<std::uint64_t> ids, const std::string& wire,
                   const std::vector<std::string>& lines) {
  fake_server server{std::move(ids), {}, {}};
  server_console console(wire, "\n", server.hooks());
  for (const std::string& typed : lines)
    console.execute(typed, 1);
  return server.sent.empty() && server.kicked.empty();
}

TEST(ServerConsole, ToAnUnknownOrBadIdSendsNothing) {
  EXPECT_TRUE(sends_nothing({1}, "UTF-8", {"/to 9 hi", "/to x hi", "/to 0 hi", "/to"}));
  EXPECT_FALSE(sends_nothing({1}, "UTF-8", {"/to 1 hi"}));
}

TEST(ServerConsole, BadHexSendsNothing) {
  EXPECT_TRUE(sends_nothing({1}, "GBK", {"/hex all 0", "/hex all zz", "/hex all", "/hex"}));
}

TEST(ServerConsole, UnmappableLineIsNotSent) {
  EXPECT_TRUE(sends_nothing({1}, "ISO-8859-1", {"\xe4\xbd\xa0"}));  // 你
  EXPECT_FALSE(sends_nothing({1}, "ISO-8859-1", {"\xc3\xa9"}));     // é
}

TEST(ServerConsole, KickTakesAnId) {
  fake_server server{{1, 2}, {}, {}};
  server_console console("GBK", "\n", server.hooks());
  console.execute("/kick 2", 1);
  console.execute("/kick two", 2);
  console.execute("/kick", 3);
  EXPECT_EQ(server.kicked, (std::vector<std::uint64_t>{2}));
}

TEST(ServerConsole, UnknownCommandsAndNoClientsSendNothing) {
  EXPECT_TRUE(sends_nothing({}, "GBK", {"hello"}));  // nobody connected
  EXPECT_TRUE(sends_nothing({1}, "GBK", {"/frobnicate", "/list", "/help"}));
}

TEST(ServerConsole, EachConnectionsStreamStartsWithTheSignature) {
  fake_server server{{1}, {}, {}};
  server_console console("UTF-16", "", server.hooks());
  console.execute("a", 1);
  console.execute("a", 2);
  server.ids = {1, 2};
  console.execute("a", 3);
  ASSERT_EQ(server.sent.size(), 4u);
  EXPECT_EQ(server.sent[0].wire.size(), 4u);  // byte order mark + "a"
  EXPECT_EQ(server.sent[1].wire.size(), 2u);  // the same stream goes on
  EXPECT_EQ(server.sent[2].wire.size(), 2u);  // client 1
  EXPECT_EQ(server.sent[3].id, 2u);
  EXPECT_EQ(server.sent[3].wire, server.sent[0].wire);  // a new stream for client 2
}

TEST(ServerConsole, HelpListsTheCommands) {
  const std::string help = server_console_help();
  for (const char* command : {"/list", "/to ID TEXT", "/hex ID|all HEX", "/kick ID", "//TEXT"})
    EXPECT_NE(help.find(command), std::string::npos) << command;
}

}  // namespace
}  // namespace xsock::tools
