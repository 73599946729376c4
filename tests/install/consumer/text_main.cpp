// A program outside the xsock tree: GBK bytes split mid-character through the
// installed xsock::text (which brings ICU in through the package).
#include <xsock/text.hpp>

#include <iostream>
#include <string>

int main() {
  xsock::decoder d("GBK");
  std::string text = d.decode("\xC4\xE3\xBA");  // 你 and half of 好
  text += d.decode("\xC3");
  text += d.finish();
  if (text != "\xE4\xBD\xA0\xE5\xA5\xBD") {
    std::cerr << "decode mismatch\n";
    return 1;
  }
  std::cout << "decode ok\n";
  return 0;
}
