// xsock::stream_layer: what stands between a connection's wire bytes and its callbacks.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "xsock/endpoint.hpp"

namespace xsock {

/// A transformation between the bytes a connection of an `event_loop` carries on the
/// wire and the bytes its callbacks see: TLS (`tls_context::make_layer`) is one. The
/// loop owns it and calls it on the loop thread only; it never touches the socket. Its
/// calls append to strings and report a broken stream through `ec` (the loop then
/// closes the connection with that error). A layer must not throw but
/// `std::bad_alloc`.
class stream_layer {
 public:
  virtual ~stream_layer() = default;

  /// The connection is up: appends to `wire` what this end sends first (a TLS client's
  /// hello; nothing for a server).
  virtual void start(std::string& wire, std::error_code& ec) = 0;
  /// `in` arrived from the peer: appends the bytes it carried for the embedder to
  /// `data` and what must be sent in answer (handshake records) to `wire`. Once the
  /// peer has ended its stream inside the layer (`peer_closed()`), later bytes are
  /// ignored.
  virtual void receive(std::string_view in, std::string& data, std::string& wire,
                       std::error_code& ec) = 0;
  /// The embedder sends `data`: appends its wire form to `wire`. Before the layer is
  /// `established()` it keeps the bytes and sends them, in order, once it is.
  virtual void send(std::string_view data, std::string& wire, std::error_code& ec) = 0;
  /// This end sends no more: appends the layer's end-of-stream record (TLS
  /// close_notify) to `wire`. Called at most once.
  virtual void close(std::string& wire) = 0;
  /// The handshake is over: data flows both ways.
  virtual bool established() const noexcept = 0;
  /// The peer ended its stream inside the layer (TLS close_notify): the connection's
  /// end of stream.
  virtual bool peer_closed() const noexcept = 0;
  /// The transport ended (TCP end of stream) without `peer_closed()`: the error the
  /// connection ends with (TLS: the stream was truncated, or the handshake was cut).
  virtual std::error_code transport_ended() const noexcept = 0;
  /// The operation a failure before `established()` is reported under ("tls
  /// handshake"), as in `connect_result::message`.
  virtual const char* handshake_name() const noexcept = 0;
  ///@{
  /// What the handshake agreed, once `established()`: the protocol version
  /// ("TLSv1.3") and the application protocol (ALPN; empty: none). Empty by default.
  virtual std::string protocol_version() const { return {}; }
  virtual std::string alpn_protocol() const { return {}; }
  ///@}
};

/// Makes the layer for a connection accepted from `peer` (`event_loop::listen`).
using stream_layer_factory = std::function<std::unique_ptr<stream_layer>(const endpoint& peer)>;

}  // namespace xsock
