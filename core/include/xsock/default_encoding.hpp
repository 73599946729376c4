// xsock::default_encoding: the wire encoding used when none is named.
#pragma once

#include <string_view>

namespace xsock {

/// The wire encoding of the tutorial xsock grew from, and the default of every text
/// class and tool: GBK.
inline constexpr std::string_view default_encoding = "GBK";

}  // namespace xsock
