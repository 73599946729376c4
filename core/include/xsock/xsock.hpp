// Umbrella header: the whole xsock::net API (the text API is xsock/text.hpp).
#pragma once

#include "xsock/datagram_socket.hpp"
#include "xsock/endpoint.hpp"
#include "xsock/error.hpp"
#include "xsock/line_framer.hpp"
#include "xsock/listener.hpp"
#include "xsock/native_handle.hpp"
#include "xsock/poller.hpp"
#include "xsock/readiness.hpp"
#include "xsock/resolve.hpp"
#include "xsock/server.hpp"
#include "xsock/startup.hpp"
#include "xsock/stream_socket.hpp"
#include "xsock/time_limit.hpp"
