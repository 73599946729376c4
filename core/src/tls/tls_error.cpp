#include "xsock/tls_error.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>

namespace xsock {
namespace {

class tls_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "xsock.tls"; }
  std::string message(int value) const override {
    switch (static_cast<tls_errc>(value)) {
      case tls_errc::truncated:
        return "stream truncated (the connection ended without close_notify)";
      case tls_errc::handshake_cut:
        return "connection closed during the handshake";
      case tls_errc::not_established:
        return "no tls session established";
      case tls_errc::wrong_role:
        return "the tls context is for the other end";
      case tls_errc::bad_file:
        return "cannot load the file";
      case tls_errc::key_mismatch:
        return "the private key does not match the certificate";
      case tls_errc::bad_alpn:
        return "alpn protocol names must be 1 to 255 bytes";
      case tls_errc::no_server_name:
        return "no server name to verify the certificate against";
    }
    return "unknown tls error";
  }
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<tls_errc>(value)) {
      case tls_errc::truncated:
      case tls_errc::handshake_cut:
        return std::errc::connection_aborted;
      case tls_errc::not_established:
        return std::errc::not_connected;
      case tls_errc::wrong_role:
      case tls_errc::bad_alpn:
      case tls_errc::no_server_name:
        return std::errc::invalid_argument;
      default:
        break;
    }
    return {value, *this};
  }
};

class tls_library_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "xsock.tls.openssl"; }
  std::string message(int value) const override {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(value));
    if (reason != nullptr) return reason;
    char text[48];
    std::snprintf(text, sizeof text, "tls error 0x%08x", static_cast<unsigned>(value));
    return text;
  }
};

class tls_verify_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "xsock.tls.verify"; }
  std::string message(int value) const override {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(value);
  }
};

}  // namespace

const std::error_category& tls_category() noexcept {
  static const tls_category_impl category;
  return category;
}

const std::error_category& tls_library_category() noexcept {
  static const tls_library_category_impl category;
  return category;
}

const std::error_category& tls_verify_category() noexcept {
  static const tls_verify_category_impl category;
  return category;
}

std::error_code make_error_code(tls_errc value) noexcept {
  return {static_cast<int>(value), tls_category()};
}

}  // namespace xsock
