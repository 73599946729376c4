// xsock::startup: explicit control over the socket library's process-wide set-up.
#pragma once

#include <system_error>

namespace xsock {

/// Holds the platform socket library open for its lifetime.
///
/// On Windows, xsock calls `WSAStartup` by itself before it creates its first socket
/// or resolves its first name, and releases that reference when the process exits:
/// most programs never need this class. A program that must decide when Winsock is
/// set up and torn down (a DLL that may not call `WSAStartup` from `DllMain`, a
/// program that calls `WSACleanup` itself) calls `set_manual_startup(true)` first and
/// keeps a `startup` object alive while it uses xsock. Each `startup` object is one
/// `WSAStartup` reference (`WSACleanup` in the destructor); they nest.
///
/// On POSIX systems there is nothing to set up: the class and the functions do
/// nothing and never fail.
class startup {
 public:
  ///@{
  /// Throws `xsock::error` when the socket library cannot be initialised.
  startup();
  explicit startup(std::error_code& ec) noexcept;
  startup(const startup&) = delete;
  startup& operator=(const startup&) = delete;
  ~startup();
  ///@}

  /// True when this object holds a reference (its constructor succeeded).
  bool active() const noexcept { return active_; }

 private:
  bool active_ = false;
};

///@{
/// Manual mode: when `true`, xsock no longer calls `WSAStartup` by itself; operations
/// made while no `startup` object (or the program's own `WSAStartup`) holds Winsock
/// open fail with the system's "not initialised" error. Set it before the first
/// socket. Default `false` (automatic). No effect on POSIX.
void set_manual_startup(bool manual) noexcept;
bool manual_startup() noexcept;
///@}

}  // namespace xsock
