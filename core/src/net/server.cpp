#include "xsock/server.hpp"

#include <utility>

#include "net/throw.hpp"

namespace xsock {

// The server is an event loop with one listener: its callbacks are the loop's, given
// the server instead of the loop.
struct server::impl {
  impl(server& owner, listener&& socket, const server_options& options, callbacks cb,
       stream_layer_factory layers, std::error_code& ec)
      : user(std::move(cb)), loop(options, loop_callbacks(owner), ec) {
    if (ec) return;
    listen_endpoint = socket.local_endpoint(ec);
    if (ec) return;
    accept_handler on_accept;
    if (user.on_accept) {
      on_accept = [&owner, this](event_loop&, id_type id, const endpoint& peer) {
        user.on_accept(owner, id, peer);
      };
    }
    listener_id = loop.listen(std::move(socket), std::move(on_accept), std::move(layers), ec);
  }

  using id_type = event_loop::id_type;
  using accept_handler = event_loop::accept_handler;

  event_loop::callbacks loop_callbacks(server& owner) {
    event_loop::callbacks cb;
    // Each is set only when the user's is, so "not set" keeps its meaning
    // (on_end_of_stream, on_idle).
    if (user.on_data)
      cb.on_data = [&owner, this](event_loop&, id_type id, std::string_view bytes) {
        user.on_data(owner, id, bytes);
      };
    if (user.on_end_of_stream)
      cb.on_end_of_stream = [&owner, this](event_loop&, id_type id) {
        user.on_end_of_stream(owner, id);
      };
    if (user.on_close)
      cb.on_close = [&owner, this](event_loop&, id_type id, close_reason reason,
                                   const std::error_code& ec) {
        user.on_close(owner, id, reason, ec);
      };
    if (user.on_idle)
      cb.on_idle = [&owner, this](event_loop&, id_type id) { user.on_idle(owner, id); };
    if (user.on_timer)
      cb.on_timer = [&owner, this](event_loop&, id_type id) { user.on_timer(owner, id); };
    if (user.on_turn) cb.on_turn = [&owner, this](event_loop&) { user.on_turn(owner); };
    if (user.on_accept_error)
      cb.on_accept_error = [&owner, this](event_loop&, id_type, const std::error_code& ec) {
        user.on_accept_error(owner, ec);
      };
    return cb;
  }

  callbacks user;
  event_loop loop;
  id_type listener_id = 0;
  endpoint listen_endpoint;
};

server::server(listener&& socket, const server_options& options, callbacks handlers)
    : server(std::move(socket), options, std::move(handlers), stream_layer_factory()) {}

server::server(listener&& socket, const server_options& options, callbacks handlers,
               std::error_code& ec)
    : server(std::move(socket), options, std::move(handlers), stream_layer_factory(), ec) {}

server::server(listener&& socket, const server_options& options, callbacks handlers,
               stream_layer_factory layers) {
  std::error_code ec;
  impl_ = std::make_unique<impl>(*this, std::move(socket), options, std::move(handlers),
                                 std::move(layers), ec);
  if (ec) detail::throw_error(ec, "create server");
}

server::server(listener&& socket, const server_options& options, callbacks handlers,
               stream_layer_factory layers, std::error_code& ec)
    : impl_(std::make_unique<impl>(*this, std::move(socket), options, std::move(handlers),
                                   std::move(layers), ec)) {}

server::~server() = default;

void server::run() {
  std::error_code ec;
  run(ec);
  if (ec) detail::throw_error(ec, "server");
}

void server::run(std::error_code& ec) {
  impl_->loop.run(ec);
}

void server::stop() noexcept {
  impl_->loop.stop();
}

void server::stop_accepting() noexcept {
  impl_->loop.close(impl_->listener_id);
  impl_->listener_id = 0;
}

void server::send(connection_id id, std::string_view bytes) {
  impl_->loop.send(id, bytes);
}

bool server::send(connection_id id, std::string_view bytes, std::error_code& ec) noexcept {
  return impl_->loop.send(id, bytes, ec);
}

void server::close(connection_id id, close_mode how) noexcept {
  // Listener ids share the loop's id space: only connections are closed from here.
  if (id != impl_->listener_id) impl_->loop.close(id, how);
}

void server::pause_reading(connection_id id) noexcept {
  impl_->loop.pause_reading(id);
}

void server::resume_reading(connection_id id) noexcept {
  impl_->loop.resume_reading(id);
}

void server::set_timer(connection_id id, time_limit after) noexcept {
  impl_->loop.set_timer(id, after);
}

void server::cancel_timer(connection_id id) noexcept {
  impl_->loop.cancel_timer(id);
}

std::size_t server::output_size(connection_id id) const noexcept {
  return impl_->loop.output_size(id);
}

std::size_t server::connection_count() const noexcept {
  return impl_->loop.connection_count();
}

endpoint server::local_endpoint() const noexcept {
  if (impl_->listener_id == 0) return endpoint{};
  return impl_->loop.local_endpoint(impl_->listener_id);
}

const server_stats& server::stats() const noexcept {
  return impl_->loop.stats();
}

event_loop& server::loop() noexcept {
  return impl_->loop;
}

}  // namespace xsock
