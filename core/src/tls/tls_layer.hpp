// Internal: the event loop's TLS layer (a stream_layer over a tls_engine).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "tls/tls_context_impl.hpp"
#include "xsock/stream_layer.hpp"

namespace xsock::detail {

std::unique_ptr<stream_layer> make_tls_layer(std::shared_ptr<tls_context::impl> context,
                                             std::string_view server_name, std::uint16_t port);

}  // namespace xsock::detail
