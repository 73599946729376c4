#include "event_log.hpp"

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "console.hpp"
#include "tool_support.hpp"
#include "xsock/error.hpp"

namespace xsock::tools {

event_log::event_log(const std::string& path, std::string_view program)
    : path_(path), program_(program) {
  const std::filesystem::path where = std::filesystem::u8path(path);
  file_.open(where, std::ios::out | std::ios::app | std::ios::binary);
  if (!file_) {
    std::error_code ec;
    const auto status =
        std::filesystem::status(where.parent_path().empty() ? "." : where.parent_path(), ec);
    std::string why = "cannot be opened for appending";
    if (ec) {
      why = error_text(ec);
    } else if (!std::filesystem::is_directory(status)) {
      why = "no such directory";
    }
    throw std::runtime_error("--log " + path + ": " + why);
  }
}

void event_log::record(std::string_view event, std::uint64_t id, std::string_view peer,
                       std::string_view bytes, bool with_bytes, std::string_view extra) {
  if (!file_.is_open()) return;
  line_ = "{\"ts\":\"" + utc_time_text(std::chrono::system_clock::now()) + "\",\"event\":\"";
  line_ += event;
  line_ += "\",\"id\":" + std::to_string(id) + ",\"peer\":";
  append_json_string(line_, peer);
  if (with_bytes) {
    line_ += ",\"bytes\":" + std::to_string(bytes.size()) + ",\"hex\":\"";
    line_ += to_hex(bytes);
    line_ += '"';
  }
  line_ += extra;
  line_ += "}\n";
  file_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
  file_.flush();
  if (!file_) {
    print_error(program_, "--log " + path_ + ": write failed; logging stopped (the tool goes on)");
    file_.close();
  }
}

}  // namespace xsock::tools
