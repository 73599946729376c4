// A program outside the xsock tree: GBK bytes split mid-character through the
// installed xsock::text (which brings ICU in through the package). It also prints an
// error the way xsock does: xsock::error_text, declared by the headers xsock/text.hpp
// includes and defined in xsock::net, which xsock::text's package must bring along.
#include <xsock/text.hpp>

#include <iostream>
#include <string>
#include <system_error>

int main() {
  xsock::decoder d("GBK");
  std::string text = d.decode("\xC4\xE3\xBA");  // 你 and half of 好
  text += d.decode("\xC3");
  text += d.finish();
  if (text != "\xE4\xBD\xA0\xE5\xA5\xBD") {
    std::cerr << "decode mismatch\n";
    return 1;
  }
  const std::string reason = xsock::error_text(std::make_error_code(std::errc::connection_refused));
  if (reason != "connection refused") {
    std::cerr << "error_text mismatch: " << reason << "\n";
    return 1;
  }
  std::cout << "decode ok, " << reason << "\n";
  return 0;
}
