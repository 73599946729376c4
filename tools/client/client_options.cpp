#include "client_options.hpp"

#include <memory>

#include "console.hpp"
#include "xsock/default_encoding.hpp"

namespace xsock::tools::client {
namespace {

// --help's usage line shows HOST and PORT as required (CLI11 brackets any positional
// not marked required, and they are not: --list-encodings needs neither).
class usage_formatter : public CLI::Formatter {
 public:
  std::string make_option_usage(const CLI::Option* opt) const override {
    if (opt->get_positional()) return make_option_name(opt, true);
    return CLI::Formatter::make_option_usage(opt);
  }
};

}  // namespace

// `--reconnect 2 HOST PORT` reads 2 as HOST: when the command line does not parse and
// a number follows a bare --reconnect, the error says that its value needs '='.
std::string reconnect_value_hint(const std::vector<std::string>& args) {
  for (std::size_t i = 1; i + 1 < args.size(); ++i) {
    if (args[i] == "--") break;
    const std::string& next = args[i + 1];
    const bool number =
        !next.empty() && next.find_first_not_of("0123456789.") == std::string::npos && next != ".";
    if (args[i] == "--reconnect" && number)
      return "--reconnect takes its value after '=': --reconnect=" + next;
  }
  return std::string();
}

std::string eol_bytes(const std::string& name) {
  return name == "crlf" ? "\r\n" : name == "lf" ? "\n" : name == "cr" ? "\r" : "";
}

// A person is typing the input: standard input is a terminal and is what is sent.
bool typing(const config& cfg) {
  return cfg.messages.empty() && cfg.file.empty() && input_is_terminal();
}

int parse_options(const std::vector<std::string>& args, config& cfg) {
  CLI::App app(
      "Sends text to a TCP (or, with --udp, UDP) server in its encoding and prints what comes "
      "back.",
      std::string(program));
  app.add_option("HOST", cfg.host, "Server name or address (every resolved address is tried)");
  app.add_option("PORT", cfg.port, "Server port")->transform(decimal_integer(1, 65535));
  app.add_option("-m,--message", cfg.messages,
                 "Send TEXT (repeatable), then finish; without -m, lines of standard input "
                 "are sent as they are read")
      // One TEXT per -m, so `-m hi HOST PORT` leaves HOST and PORT to the positionals.
      ->allow_extra_args(false);
  app.add_option("-e,--encoding", cfg.encoding, "Wire encoding (any ICU converter name)")
      ->default_val(std::string(default_encoding));
  app.add_option("--eol", cfg.eol,
                 "Appended to each message or line (cr: for devices that want \\r)")
      ->default_val("lf")
      ->check(CLI::IsMember({"lf", "crlf", "cr", "none"}));
  app.add_option("--timeout", cfg.timeout_ms,
                 "Seconds allowed for connecting, and for each send to make progress")
      ->default_str("10")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, true));
  app.add_option("--wait", cfg.wait_ms,
                 "Seconds to keep printing replies after the input ends (until the server "
                 "closes)")
      ->default_str("2")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, false));
  app.add_flag("--hex", cfg.hex, "Show received bytes as hex instead of text");
  add_view_options(app, cfg.view,
                   "Show what each read returned, a line each, instead of cutting lines",
                   "Start every line of replies with the local time");
  app.add_flag("--hex-input", cfg.hex_input,
               "-m messages and input lines are hex digits (spaces allowed), sent as bytes");
  app.add_option("--file", cfg.file,
                 "Send the bytes of PATH (a file, a pipe such as <(cmd), a device) unchanged, "
                 "as they are read, then finish")
      ->type_name("PATH");
  app.add_option("--repeat", cfg.repeat, "Send the -m messages N times (0: until Ctrl+C)")
      ->type_name("N")
      ->transform(decimal_integer(0, std::uint64_t{1} << 62));
  app.add_option("--interval", cfg.interval_ms, "Seconds between two --repeat rounds")
      ->default_str("1")
      ->type_name("SEC")
      ->transform(decimal_duration(time_unit::seconds, false));
  std::string reconnect;
  // A flag (--reconnect or --reconnect=SEC): it never takes HOST as its value.
  // (Not CLI11's "--reconnect{1}" default syntax: its help would show the braces.)
  app.add_flag("--reconnect", reconnect,
               "Connect again after SEC (default 1, at least 0.05; doubled after each failure "
               "up to 8, see --backoff) when the server refuses or closes, until the input is "
               "sent")
      ->type_name("[=SEC]")
      // CLI11 runs the transforms last added first: the bare flag means 1 s.
      ->transform(decimal_duration(time_unit::seconds, false))
      ->transform([](std::string value) { return value == "true" ? std::string("1") : value; }, "",
                  "");
  app.add_option("--backoff", cfg.backoff,
                 "--reconnect's delay: double (after each failure, up to 8 s or SEC) or none "
                 "(always SEC)")
      ->default_val("double")
      ->check(CLI::IsMember({"double", "none"}));
  app.add_option("--local-encoding", cfg.local_encoding,
                 "Encoding of the terminal/pipes (default: the locale's; UTF-8 for C/POSIX)");
  app.add_flag("--list-encodings", cfg.list_encodings, "Print the encoding names and exit");
  app.add_flag("--udp", cfg.udp,
               "UDP: each -m, input line or --repeat round is one datagram; replies are shown a "
               "datagram a line");
  app.add_flag("--broadcast", cfg.broadcast,
               "With --udp: allow a broadcast HOST (SO_BROADCAST); replies from any sender");
  app.add_option("--multicast", cfg.multicast,
                 "With --udp: send to the IPv4 multicast GROUP:PORT, leaving by the interface "
                 "whose address is HOST")
      ->type_name("GROUP");
  app.add_option("--ttl", cfg.ttl, "With --udp: hop limit of the datagrams (1..255)")
      ->type_name("N")
      ->transform(decimal_integer(1, 255));
  add_tls_options(app, cfg.tls, tls_end::client);
  app.set_version_flag("--version", version_line(program));
  app.footer(R"(Examples:
  xsock-client 127.0.0.1 7788 -m "你好，世界"            one message in GBK, like the tutorial
  xsock-client 127.0.0.1 7788 -m hi --eol none           exactly "hi", no newline
  xsock-client -e UTF-8 localhost 9000 < lines.txt       every line of a file, as UTF-8
  xsock-client --hex 127.0.0.1 9000 -m ping              show the reply as hex
  xsock-client --hex-input 127.0.0.1 9000 -m "01 03 00"   send three bytes
  xsock-client --file fw.bin 127.0.0.1 9000               a file's bytes, unchanged
  xsock-client --repeat 0 --interval 0.5 -m ping HOST 9000   ping every 0.5 s
  xsock-client --reconnect 127.0.0.1 9000                 wait for the server, reconnect
  xsock-client --reconnect=0.5 --backoff none HOST 9000   try every 0.5 s, no doubling
  xsock-client --file <(make-frames) 127.0.0.1 9000       a pipe's bytes, as they come

TLS (--tls): the server's certificate is checked against the system's CAs and --ca:
  xsock-client --tls --ca ca.pem localhost 8443 -m hi    a server with a test CA's certificate
  xsock-client --tls --sni example.test 127.0.0.1 8443   name sent and checked: example.test

UDP (--udp): every -m, input line or --repeat round is one datagram:
  xsock-client --udp 127.0.0.1 9000 -m hello             one datagram, its replies shown
  xsock-client --udp --broadcast 127.255.255.255 9000 -m hi   to every listener on loopback
  xsock-client --udp --multicast 239.1.2.3 127.0.0.1 9000 -m hi   to a group, by loopback

Exit status: 0 done (also when the server closed the connection), 1 connect/IO/conversion
failure or a reset by the server (one line on stderr), 2 usage error, 130 Ctrl+C/SIGTERM.)");

  // HOST and PORT are required, though not marked so: --list-encodings needs neither.
  app.formatter(std::make_shared<usage_formatter>());
  const int parsed = parse_command_line(app, program, args, reconnect_value_hint(args));
  if (parsed >= 0) return parsed;
  if (cfg.list_encodings) return list_encodings_command();
  cfg.how = cfg.view.how();
  const bool udp_only =
      app.count("--broadcast") > 0 || app.count("--multicast") > 0 || app.count("--ttl") > 0;
  if (udp_only && !cfg.udp) {
    print_error(program, "--broadcast, --multicast and --ttl need --udp (see --help)");
    return exit_usage;
  }
  const std::string tls_error = check_tls_options(app, cfg.tls, tls_end::client, cfg.udp);
  if (!tls_error.empty()) {
    print_error(program, tls_error);
    return exit_usage;
  }
  if (cfg.udp) {
    // A datagram socket has no connection to keep or stream to cut; --file would need a
    // datagram size of its own.
    for (const char* name : {"--reconnect", "--backoff", "--file", "--packets", "--timeout"}) {
      if (app.count(name) == 0) continue;
      print_error(program, std::string(name) +
                               " does not apply to --udp (no connection; every datagram is "
                               "shown whole, as one line)");
      return exit_usage;
    }
    if (cfg.broadcast && !cfg.multicast.empty()) {
      print_error(program, "--broadcast and --multicast cannot be used together (see --help)");
      return exit_usage;
    }
  }
  if (app.count("--reconnect") > 0) {
    cfg.reconnect_ms = std::stoll(reconnect);
    if (cfg.reconnect_ms < min_reconnect_ms) {
      print_error(program,
                  "--reconnect=SEC must be at least 0.05 (a server that closes at once would be "
                  "flooded with connections)");
      return exit_usage;
    }
  } else if (app.count("--backoff") > 0) {
    print_error(program, "--backoff is the delay of --reconnect: give --reconnect (see --help)");
    return exit_usage;
  }
  if (app.count("--file") > 0 && cfg.file.empty()) {
    print_error(program, "--file: the path is empty (see --help)");
    return exit_usage;
  }
  if (!cfg.file.empty() && !cfg.messages.empty()) {
    print_error(program, "--file and -m cannot be used together (see --help)");
    return exit_usage;
  }
  if ((app.count("--repeat") > 0 || app.count("--interval") > 0) && cfg.messages.empty()) {
    print_error(program, "--repeat and --interval repeat -m messages: give -m (see --help)");
    return exit_usage;
  }
  if (cfg.host.empty() || cfg.port < 0) {
    print_error(program, "HOST and PORT are required (see --help)");
    return exit_usage;
  }
  return -1;
}

}  // namespace xsock::tools::client
