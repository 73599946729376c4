// xsock::tls_errc and the categories of xsock::tls's errors.
#pragma once

#include <system_error>

#include "xsock/error.hpp"

namespace xsock {

/// Failures of xsock::tls that are not OpenSSL's own reasons. Values belong to
/// `tls_category()`.
enum class tls_errc {
  /// The transport ended without the peer's close_notify: what arrived may be cut
  /// short (an attacker, or a peer that crashed, can end a TCP stream).
  truncated = 1,
  /// The transport ended in the middle of the handshake.
  handshake_cut,
  /// The operation needs a finished handshake (`tls_stream` not yet connected).
  not_established,
  /// The context's role does not fit the call (a server context used to connect).
  wrong_role,
  /// A certificate, key or CA file could not be loaded and neither the system nor
  /// OpenSSL said why. Usually the reason is more precise: `no_such_file_or_directory`
  /// for a missing file or folder, OpenSSL's reason (`tls_library_category()`, "no
  /// start line") for a malformed one. The exception's message names the file.
  bad_file,
  /// The private key does not belong to the certificate.
  key_mismatch,
  /// An ALPN protocol name is empty or longer than 255 bytes.
  bad_alpn,
  /// A verifying client was given no server name (or address) to check the
  /// certificate against.
  no_server_name,
};

/// The category of `tls_errc`: "stream truncated (no close_notify)", ...
const std::error_category& tls_category() noexcept;
/// OpenSSL's reasons (the value is OpenSSL's packed error code); the message is
/// OpenSSL's reason text ("wrong version number", "no shared cipher"), the same on
/// every platform.
const std::error_category& tls_library_category() noexcept;
/// Certificate verification results (the value is OpenSSL's `X509_V_ERR_*`); the
/// message reads "certificate verify failed: self-signed certificate".
const std::error_category& tls_verify_category() noexcept;

std::error_code make_error_code(tls_errc value) noexcept;

}  // namespace xsock

namespace std {
template <>
struct is_error_code_enum<xsock::tls_errc> : true_type {};
}  // namespace std
